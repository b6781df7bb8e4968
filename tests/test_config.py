"""trackway.toml: creation, properties and keys, settings, errors that say how to fix them."""

from __future__ import annotations

import pytest

from trackway import config as configuration
from trackway.errors import ConfigError


def test_first_start_writes_one_property_with_fresh_keys(tmp_path):
    path = tmp_path / "trackway.toml"
    _, created = configuration.ensure(path)
    assert created is not None and created.name == "default"
    keys = created.keys()
    assert set(keys) == {
        "property",
        "convead_app_key",
        "ga4_measurement_id",
        "ga4_api_secret",
        "commanders_act_site",
        "commanders_act_token",
        "collect_key",
        "admin_token",
    }
    assert all(keys.values())
    assert keys["ga4_measurement_id"].startswith("G-")
    assert oct(path.stat().st_mode)[-3:] == "600"
    again, created_again = configuration.ensure(path)
    assert created_again is None and again.properties["default"].keys() == keys


def test_keys_are_fresh_and_each_names_one_property(tmp_path):
    path = tmp_path / "trackway.toml"
    a = configuration.add_property(path, "shop")
    b = configuration.add_property(path, "donations", "EUR")
    assert set(a.keys().values()) & set(b.keys().values()) == set()
    ring = configuration.load(path).keyring
    assert ring.find("collect", a["collect_key"]).name == "shop"
    assert ring.find("ga4", (b["ga4_measurement_id"], b["ga4_api_secret"])).name == "donations"
    assert ring.admin[a["admin_token"]].name == "shop"
    assert configuration.load(path).properties["donations"].default_currency == "EUR"


def test_adding_a_property_keeps_the_comments_of_the_file(tmp_path):
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "shop")
    path.write_text("# my notes\n" + path.read_text())
    configuration.add_property(path, "blog")
    assert path.read_text().startswith("# my notes\n")
    assert set(configuration.load(path).properties) == {"shop", "blog"}


def test_a_key_shared_by_two_properties_is_refused(tmp_path):
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "a")
    configuration.add_property(path, "b")
    text = path.read_text()
    key = configuration.load(path).properties["a"]["collect_key"]
    other = configuration.load(path).properties["b"]["collect_key"]
    path.write_text(text.replace(other, key))
    with pytest.raises(ConfigError, match="must name one property"):
        configuration.load(path)


def test_secrets_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "a")
    path.write_text(path.read_text().replace('admin_token = "', 'admin_token = "env:SHOP_ADMIN" # was "'))
    monkeypatch.setenv("SHOP_ADMIN", "from-env")
    assert configuration.load(path).properties["a"]["admin_token"] == "from-env"
    monkeypatch.delenv("SHOP_ADMIN")
    with pytest.raises(ConfigError, match="SHOP_ADMIN to be set"):
        configuration.load(path)


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        ("port = 0", "port", 0),  # any free port
        ("port = 65535", "port", 65535),
        ("workers = 1", "workers", 1),
        ("loader_nice = 0", "loader_nice", 0),
        ("loader_defer_seconds = 0", "loader_defer_seconds", 0),
        ("forward_defer_seconds = 0", "forward_defer_seconds", 0),
        ("log_segment_bytes = 65536", "log_segment_bytes", 65536),
        ("store_memory_limit = '512MB'", "store_memory_limit", "512MB"),
        ("store_memory_limit = '2 GiB'", "store_memory_limit", "2 GiB"),
        ("store_memory_limit = '50%'", "store_memory_limit", "50%"),
        ("store_checkpoint_threshold = '1MiB'", "store_checkpoint_threshold", "1MiB"),
        ("store_checkpoint_threshold = '1 GB'", "store_checkpoint_threshold", "1 GB"),
    ],
)
def test_settings_at_their_bounds_are_taken(tmp_path, line, name, value):
    path = tmp_path / "trackway.toml"
    path.write_text(f"[server]\n{line}\n")
    assert configuration.load(path).server[name] == value


@pytest.mark.parametrize(
    ("env", "value", "match"),
    [
        # the variable is named: the file does not hold the value (it said "trackway.toml server.loader_nice")
        (
            "TRACKWAY_LOADER_NICE",
            "50",
            r"^TRACKWAY_LOADER_NICE \(server\.loader_nice\): expected a whole number from 0 to 19, got 50",
        ),
        ("TRACKWAY_METRICS_PUBLIC", "maybe", "expected bool, got 'maybe' \\(string\\); write true or false"),
        ("TRACKWAY_PORT", "-5", "from 0 to 65535, got -5"),
        ("TRACKWAY_STORE_MEMORY_LIMIT", "lots", "expected a memory size"),
        ("TRACKWAY_WORKERS", "two", "expected int, got 'two'"),
        ("TRACKWAY_PORT", "--5", "expected int, got '--5'"),
        ("TRACKWAY_PORT", "5-", "expected int, got '5-'"),
        ("TRACKWAY_PORT", "٣", "expected int, got '٣'"),  # a digit to str.isdigit, not to the setting
        (
            "TRACKWAY_FORWARD_DEFER_SECONDS",
            "-1",
            r"forward_defer_seconds\): expected a whole number at least 0",
        ),
        ("TRACKWAY_FORWARD_DEFER_SECONDS", "1e999", "expected int, got '1e999'"),
    ],
)
def test_settings_from_the_environment_are_held_to_the_same_bounds(tmp_path, monkeypatch, env, value, match):
    # a string from the environment was converted and returned before any bound was checked
    path = tmp_path / "trackway.toml"
    path.write_text("[server]\n")
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=match):
        configuration.load(path)


def test_every_int_setting_has_bounds_and_every_default_is_within_them():
    from trackway import settings

    for s in (*settings.server_declared(), *settings.property_declared()):
        if s.type is int:
            least, most = s.bounds
            assert least is not None, f"{s.name}: an int setting without a least value"
            assert least <= s.default and (most is None or s.default <= most), s.name
        if s.check is not None:
            assert s.check(s.default) is None, s.name


def test_text_is_read_as_the_type_where_text_is_all_a_source_has(tmp_path, monkeypatch):
    path = tmp_path / "trackway.toml"
    path.write_text("[server]\nport = 'env:SHOP_PORT'\nkeep_log = 'env:SHOP_KEEP'\n")
    monkeypatch.setenv("SHOP_PORT", "9000")
    monkeypatch.setenv("SHOP_KEEP", "yes")
    monkeypatch.setenv("TRACKWAY_WORKERS", "3")
    cfg = configuration.load(path)
    assert (cfg.server["port"], cfg.server["keep_log"], cfg.server["workers"]) == (9000, True, 3)


def test_server_settings_from_file_and_environment(tmp_path, monkeypatch):
    path = tmp_path / "trackway.toml"
    path.write_text("[server]\nport = 9000\nkeep_log = true\n")
    cfg = configuration.load(path)
    assert (cfg.server["port"], cfg.server["keep_log"], cfg.server["workers"]) == (9000, True, 2)
    monkeypatch.setenv("TRACKWAY_PORT", "9100")
    assert configuration.load(path).server["port"] == 9100


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[server]\nport = 'eighty'\n", "expected int"),
        ("[server]\nprot = 1\n", "unknown server setting"),
        ("[serve]\n", "unknown table"),
        ("[properties.Shop]\n", "lower-case"),
        ("[properties.a]\ndefault_currency = 'EURO'\n", "ISO 4217"),
        ("[properties.a]\ncolour = 'red'\n", "unknown setting"),
        ("[properties.a\n", "not valid TOML"),
        # values of the right type that mean nothing (each started a server, or failed in DuckDB)
        ("[server]\nport = 99999999\n", r"server\.port: expected a whole number from 0 to 65535, got 9+"),
        ("[server]\nport = -1\n", "from 0 to 65535, got -1"),
        ("[server]\nworkers = 0\n", r"server\.workers: expected a whole number from 1 to 64, got 0"),
        ("[server]\ncollect_max_body = -5\n", "at least 1, got -5"),
        ("[server]\nloader_batch = 0\n", r"server\.loader_batch: expected a whole number at least 1"),
        ("[server]\nlog_segment_bytes = 1\n", "at least 65536, got 1"),
        ("[server]\nloader_nice = 99\n", "from 0 to 19, got 99"),
        ("[server]\nread_wait_seconds = -1\n", "at least 0, got -1"),
        ("[server]\ntracker_cache_seconds = 99999999999\n", "from 0 to 2147483647"),
        ("[server]\nconvead_max_body = 0\n", r"server\.convead_max_body: expected a whole number at least 1"),
        ("[server]\nstore_memory_limit = 'lots'\n", "expected a memory size such as 1GB.*got 'lots'"),
        ("[server]\nstore_memory_limit = '1000000'\n", "expected a memory size"),
        ("[server]\nstore_memory_limit = '1MB'\n", "expected at least 64MB, got '1MB'"),
        ("[server]\nstore_memory_limit = '63MB'\n", "expected at least 64MB, got '63MB'"),
        ("[server]\nstore_memory_limit = '0%'\n", "above 0% and at most 100%"),
        # a share of RAM below the floor passed, and the store failed to open with a traceback
        ("[server]\nstore_memory_limit = '0.001%'\n", "a share of RAM of at least 64MB, got '0.001%'"),
        # digits of other scripts passed the check (Python's \d), and DuckDB refused them at start
        ("[server]\nstore_memory_limit = '\u0661\u0662\u0668MB'\n", "expected a memory size"),
        ("[server]\nstore_checkpoint_threshold = '\u0661\u0662\u0668MB'\n", "expected a size such as 128MB"),
        (
            "[server]\nstore_checkpoint_threshold = '10%'\n",
            "expected a size such as 128MB.*not a share of RAM.*'10%'",
        ),
        ("[server]\nstore_checkpoint_threshold = '512KB'\n", "expected at least 1MiB, got '512KB'"),
        ("[server]\nstore_checkpoint_threshold = 'big'\n", "expected a size such as 128MB"),
        # past DuckDB's range, or infinite: refused here, not by DuckDB as the store opens (or a crash)
        ("[server]\nstore_checkpoint_threshold = '99999999999999999999TB'\n", "expected at most 1024TiB"),
        ("[server]\nstore_checkpoint_threshold = '" + "1" * 400 + "MB'\n", "expected at most 1024TiB"),
        ("[server]\nstore_memory_limit = '99999999999999999999TB'\n", "expected at most 1024TiB"),
        ("[server]\nstore_memory_limit = '" + "1" * 400 + "MB'\n", "expected at most 1024TiB"),
        # TOML is typed: a quoted number or boolean was read as one, a boolean as the text 'True'
        (
            "[server]\nport = '9000'\n",
            r"server\.port: expected int, got '9000' \(string\); write it without quotes \(9000\)",
        ),
        (
            "[server]\nkeep_log = 'yes'\n",
            r"expected bool, got 'yes' \(string\); write it without quotes \(true\)",
        ),
        ("[server]\nforward_defer_seconds = true\n", r"expected int, got true \(boolean\); While Trackway"),
        ("[server]\nport = 'eighty'\n", r"got 'eighty' \(string\); TCP port"),
    ],
)
def test_bad_files_say_where_and_how(tmp_path, text, match):
    path = tmp_path / "trackway.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        configuration.load(path)


def test_a_duplicate_or_bad_property_name_is_refused(tmp_path):
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "shop")
    with pytest.raises(ConfigError, match="already exists"):
        configuration.add_property(path, "shop")
    with pytest.raises(ConfigError, match="lower-case"):
        configuration.add_property(path, "My Shop")


SECRET = "tw_s3cr3t_value_never_logged"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # a key used twice
        (
            f"[properties.a]\ncollect_key = '{SECRET}'\n[properties.b]\ncollect_key = '{SECRET}'\n",
            "same collect_key key is in both",
        ),
        # a secret of the wrong type (the value would be quoted as what came)
        ("[server]\nadmin_token = 987654321\n", "expected str"),
        ("[properties.a]\nga4_api_secret = 987654321\n", "expected str"),
        (f"[properties.a]\nadmin_token = ['{SECRET}']\n", "expected str"),
        # a server token equal to a property's
        (
            f"[server]\nadmin_token = '{SECRET}'\n[properties.a]\nadmin_token = '{SECRET}'\n",
            "different values",
        ),
    ],
)
def test_errors_never_quote_a_secret(tmp_path, text, match):
    path = tmp_path / "trackway.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as caught:
        configuration.load(path)
    message = str(caught.value)
    assert SECRET not in message and "987654321" not in message, message
    assert str(path) in message or "properties." in message, f"the message should say where: {message}"


def test_a_secret_from_the_environment_is_not_quoted_either(tmp_path, monkeypatch):
    path = tmp_path / "trackway.toml"
    path.write_text("[properties.a]\ncollect_key = 'env:A_KEY'\n[properties.b]\ncollect_key = 'env:B_KEY'\n")
    monkeypatch.setenv("A_KEY", SECRET)
    monkeypatch.setenv("B_KEY", SECRET)
    with pytest.raises(ConfigError, match="same collect_key key") as caught:
        configuration.load(path)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("", ""),
        ("# a comment\n", "# a comment"),
        (
            '# a comment\n[server]\nadmin_token = "x"\n\n[properties.shop]\ndefault_currency = "EUR"\n',
            'admin_token = "x"',
        ),
        ('# a comment\n[properties.shop]\ndefault_currency = "EUR"\n', "[properties.shop]"),
        ('[server]\ndemo_shop = "old"\nmetrics_public = false\n', "metrics_public = false"),
    ],
)
def test_set_server_writes_the_one_line_and_keeps_the_rest(tmp_path, text, kept):
    path = tmp_path / "trackway.toml"
    path.write_text(text)
    cfg = configuration.set_server(path, "demo_shop", "shop")
    assert cfg.server["demo_shop"] == "shop"
    written = path.read_text()
    assert written.count("demo_shop") == 1 and kept in written
    assert configuration.load(path).server["demo_shop"] == "shop"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("-1", "expected a whole number at least 0, got -1"),
        ("1e999", "expected int, got inf"),
        ("30.5", "expected int, got 30.5"),
    ],
)
def test_forward_defer_seconds_in_the_file_is_a_whole_number(tmp_path, value, said):
    path = tmp_path / "trackway.toml"
    path.write_text(f"[server]\nforward_defer_seconds = {value}\n")
    with pytest.raises(ConfigError, match=f"server.forward_defer_seconds: {said}"):
        configuration.load(path)


@pytest.mark.parametrize("value", ["64MB", "64MiB", " 1 gb ", "50%", "100%", "1024TiB"])
def test_store_memory_limits_the_docs_name_are_accepted(value: str) -> None:
    # "64MB", the least the settings' help names, was refused ("expected at least 64MiB")
    from trackway.settings import memory_size_problem

    assert memory_size_problem(value) is None
