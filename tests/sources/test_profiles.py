"""Mapping profiles: defaults load for every source, overrides merge key by key, errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.profiles import ProfileError, available_sources, load_profile
from shared.sources import READERS
from shared.sources.base import AttributeSpec


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_reader_ships_a_default_profile() -> None:
    assert set(available_sources()) == set(READERS)
    for source in available_sources():
        assert load_profile(source).source == source


def test_override_replaces_one_field_and_keeps_the_rest(tmp_path: Path) -> None:
    profile = load_profile("auth0", write(tmp_path, '[fields]\ndisplayName = "nickname"\n[password]\nmode = "jit"\n'))
    assert profile.fields["displayName"] == "nickname"
    assert profile.fields["email"] == "email"  # from the default
    options = profile.mapping_options("contoso.onmicrosoft.com", "00000000-0000-0000-0000-000000000001")
    assert options.password_mode == "jit" and options.tenant == "contoso.onmicrosoft.com"


def test_attribute_types_reach_the_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, '[attributes.points]\nsource = "user_metadata.points"\ntype = "Integer"\n')
    profile = load_profile("auth0", path)
    assert profile.source_options().attributes == {"user_metadata.points": AttributeSpec("points", "Integer")}
    assert profile.mapping_options("t", "a").attribute_types == {"points": "Integer"}


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[fields]\nemial = "email"\n', "fields: 'emial' is not an interchange field"),
        ('[transforms]\nemail = ["trim", "lowercse"]\n', "transforms: email: unknown transform 'lowercse'"),
        ('[reader]\ndefault_phone_region = "XX"\n', "reader.default_phone_region: unknown region"),
        ('[password]\nmode = "maybe"\n', "password.mode: Input should be 'auto', 'plaintext', 'jit' or 'reset'"),
        ('[attributes.tier]\nsource = "x"\ntype = "Float"\n', "attributes.tier.type: must be one of"),
        ("[identities]\nsocial = true\n", "identities.social: unknown key"),
        ('[hash]\nalgorithm = "scrypt"\nn = 16384\n', "hash: algorithm 'scrypt' needs r, p"),
        ('[hash]\nalgorithm = "hmac-sha256"\nkey = "not base64!"\n', "hash.key: must be base64"),
        ('source = "okta"\n', "source: the profile is for 'okta' but --source is 'auth0'"),
    ],
)
def test_errors_point_at_the_offending_key(tmp_path: Path, toml: str, expected: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ProfileError) as caught:
        load_profile("auth0", path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message, message
    assert "\n" not in message


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[fields]\nemail = \n")
    with pytest.raises(ProfileError, match=r"invalid TOML: .*line 2"):
        load_profile("auth0", path)


def test_unknown_source() -> None:
    with pytest.raises(ProfileError, match="no mapping profile for source 'ldap'"):
        load_profile("ldap")


def test_firebase_placeholder_signer_key_is_a_warning(tmp_path: Path) -> None:
    assert load_profile("firebase").warnings()
    key = "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
    assert not load_profile("firebase", write(tmp_path, f'[hash]\nsigner_key = "{key}"\n')).warnings()
