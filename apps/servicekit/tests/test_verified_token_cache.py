"""The verified-token cache never accepts what full verification would refuse.

Driven through ``TokenVerifier.verify``, with real Ed25519 keys and a key source whose keys the
test retires and replaces, as auth's rotation does to the JWKS.
"""

from __future__ import annotations

import asyncio
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt import PyJWK
from jwt.algorithms import OKPAlgorithm
from servicekit.problems import Problem
from servicekit.security import TokenVerifier

ISSUER, AUDIENCE, KID = "platform-auth", "payments", "k1"


class Keys:
    """A JWKS as the verifier sees it: kid -> public key, changeable by the test."""

    def __init__(self) -> None:
        self.by_kid: dict[str, PyJWK] = {}

    async def key(self, kid: str) -> PyJWK | None:
        return self.by_kid.get(kid)


def new_key(keys: Keys, kid: str = KID) -> Ed25519PrivateKey:
    private = Ed25519PrivateKey.generate()
    public = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    keys.by_kid[kid] = PyJWK({**public, "kid": kid, "alg": "EdDSA"})
    return private


def mint(private: Ed25519PrivateKey, *, kid: str = KID, lifetime: float = 300, **claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "scope": "payments:charge"}
    body["exp"] = now + lifetime
    return jwt.encode({**body, **claims}, private, algorithm="EdDSA", headers={"kid": kid})


def verifier(keys: Keys, *, leeway: int = 0, cache_entries: int = 4096) -> TokenVerifier:
    return TokenVerifier(
        keys, issuer=ISSUER, audience=AUDIENCE, leeway=leeway, cache_entries=cache_entries
    )


async def refused(check: TokenVerifier, token: str) -> str:
    with pytest.raises(Problem) as raised:
        await check.verify(token)
    assert raised.value.status == 401
    return raised.value.detail


async def test_a_repeated_token_is_verified_once_then_served_from_the_cache():
    keys = Keys()
    check = verifier(keys)
    token = mint(new_key(keys))
    first, second = await check.verify(token), await check.verify(token)
    assert first.subject == second.subject == "alice"
    assert second.scopes == frozenset({"payments:charge"})
    assert check.cache_hits == 1


async def test_a_cached_token_is_refused_once_it_expires():
    keys = Keys()
    check = verifier(keys, leeway=0)
    token = mint(new_key(keys), lifetime=1)
    await check.verify(token)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)
    assert "expired" in await refused(check, token)
    assert len(check.verified) == 0


async def test_a_fractional_exp_expires_at_its_whole_second_as_pyjwt_reads_it():
    keys = Keys()
    check = verifier(keys, leeway=1)
    whole = int(time.time()) + 1
    token = mint(new_key(keys), exp=whole + 0.95)  # PyJWT compares int(exp) = whole
    await check.verify(token)
    await asyncio.sleep(max(0.0, whole + 1 - time.time()) + 0.05)  # past int(exp) + leeway
    assert "expired" in await refused(check, token)


async def test_a_cached_principal_is_a_copy_each_request_may_change():
    keys = Keys()
    check = verifier(keys)
    token = mint(new_key(keys))
    (await check.verify(token)).claims["scope"] = "admin"
    assert (await check.verify(token)).claims["scope"] == "payments:charge"
    assert check.cache_hits == 1


async def test_a_cached_token_is_refused_once_its_key_leaves_the_key_set():
    keys = Keys()
    check = verifier(keys)
    token = mint(new_key(keys))
    await check.verify(token)
    del keys.by_kid[KID]  # the rotation retired it
    assert "unknown key" in await refused(check, token)


async def test_a_key_replaced_under_the_same_kid_sends_the_token_through_full_verification():
    keys = Keys()
    check = verifier(keys)
    token = mint(new_key(keys))
    await check.verify(token)
    new_key(keys)  # another key, same kid
    assert "invalid" in await refused(check, token)


@pytest.mark.parametrize(
    ("claims", "detail"),
    [({"aud": "orders"}, "not meant for this service"), ({"iss": "evil"}, "issuer")],
)
async def test_a_refused_token_is_never_cached(claims, detail):
    keys = Keys()
    check = verifier(keys)
    token = mint(new_key(keys), **claims)
    for _ in range(2):
        assert detail in await refused(check, token)
    assert len(check.verified) == 0 and check.cache_hits == 0


async def test_the_cache_is_bounded_and_drops_its_oldest_entry_first():
    keys = Keys()
    check = verifier(keys, cache_entries=3)
    private = new_key(keys)
    tokens = [mint(private, sub=f"user-{n}") for n in range(5)]
    for token in tokens:
        await check.verify(token)
    assert len(check.verified) == 3
    await check.verify(tokens[-1])
    assert check.cache_hits == 1
    await check.verify(tokens[0])  # dropped: verified again, not a hit
    assert check.cache_hits == 1


async def test_no_entries_means_no_cache():
    keys = Keys()
    check = verifier(keys, cache_entries=0)
    token = mint(new_key(keys))
    await check.verify(token)
    await check.verify(token)
    assert len(check.verified) == 0 and check.cache_hits == 0
