from platformctl.cli import app

app(prog_name="platformctl")
