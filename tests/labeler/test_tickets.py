"""Signed annotator tickets: a name survives the round trip; a changed, foreign or old ticket does not."""

import base64
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from latentlab.core.errors import UserError

from labeler.tickets import SECRET_ENV, TICKET_MAX_AGE_S, load_secret, read_ticket, sign_ticket

SECRET = bytes(range(32))
NOW = 1_800_000_000.0


def test_a_ticket_gives_back_its_name_of_any_script():
    for name in ("José", "李雷", "ann 01"):
        assert read_ticket(sign_ticket(name, SECRET, NOW), SECRET, NOW + 5) == name


def test_a_ticket_with_another_name_in_it_is_refused():
    body, mac = sign_ticket("alice", SECRET, NOW).split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"n": "bob", "t": NOW}).encode()).rstrip(b"=").decode()
    with pytest.raises(UserError, match="not issued by this server"):
        read_ticket(f"{forged}.{mac}", SECRET, NOW)


def test_a_ticket_signed_with_another_secret_or_expired_is_refused():
    ticket = sign_ticket("alice", SECRET, NOW)
    with pytest.raises(UserError, match="not issued by this server"):
        read_ticket(ticket, bytes(32), NOW)
    with pytest.raises(UserError, match="expired"):
        read_ticket(ticket, SECRET, NOW + TICKET_MAX_AGE_S + 1)
    with pytest.raises(UserError, match="expired"):  # issued in the future: a clock or a forgery
        read_ticket(ticket, SECRET, NOW - 60)


@pytest.mark.parametrize("bad", [None, "", 42, "no-dot", "a.b.c", "x" * 10_000 + ".y", "é.ü", {"n": "a"}])
def test_malformed_tickets_get_one_short_sentence(bad):
    with pytest.raises(UserError) as e:
        read_ticket(bad, SECRET, NOW)
    assert "\n" not in str(e.value) and len(str(e.value)) < 120


def test_the_secret_file_is_made_once_private_and_shared_by_servers(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with ThreadPoolExecutor(8) as pool:  # eight servers starting at once agree on one secret
        secrets = set(pool.map(lambda _: load_secret(tmp_path / "ws"), range(8)))
    assert len(secrets) == 1 and len(next(iter(secrets))) == 32
    path = tmp_path / "ws" / "label-secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["label-secret"]  # no temporary files left


def test_the_secret_comes_from_the_environment_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "a shared secret of the deployment")
    assert load_secret(tmp_path) == b"a shared secret of the deployment"
    assert not (tmp_path / "label-secret").exists()
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(UserError, match="at least 16"):
        load_secret(tmp_path)


def test_a_damaged_secret_file_is_refused_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    (tmp_path / "label-secret").write_text("not hex at all")
    with pytest.raises(UserError, match="damaged.*delete it"):
        load_secret(tmp_path)
