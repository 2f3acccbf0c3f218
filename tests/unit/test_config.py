"""Configuration: defaults, every variable, and every problem named at once."""

from __future__ import annotations

import pytest

from havip_failover.config import VARIABLES, Config, ConfigError
from havip_failover.config import load as load_config
from tests.conftest import RECORD_KEY


def load(env: dict[str, str]) -> Config:
    """A configuration with the record key every deployment must set, and `env`."""
    return load_config({"HAVIP_RECORD_KEY": RECORD_KEY, **env})


def test_defaults() -> None:
    c = load({})
    assert c.ha_vip_ids == ()
    assert c.region_id is None
    assert (c.force, c.allow_last_instance, c.dry_run) == ("auto", False, False)
    assert c.wait_seconds == 30.0
    assert (c.vpc_endpoint, c.vpc_protocol) == (None, "https")
    assert c.callback_token is None
    assert (c.min_consecutive_failures, c.log_level) == (1, "INFO")
    assert (c.event_bus, c.eventbridge_endpoint) == (None, None)  # publishing is off


def test_every_variable_is_read() -> None:
    c = load(
        {
            "HAVIP_IDS": " havip-bp1a000000000001, havip-bp1b000000000002,havip-bp1a000000000001 ",
            "HAVIP_REGION_ID": "cn-shanghai",
            "HAVIP_FORCE": "NEVER",
            "HAVIP_ALLOW_LAST_INSTANCE": "true",
            "HAVIP_DRY_RUN": "1",
            "HAVIP_WAIT_SECONDS": "12.5",
            "HAVIP_VPC_ENDPOINT": "127.0.0.1:8765",
            "HAVIP_VPC_PROTOCOL": "http",
            "HAVIP_CALLBACK_TOKEN": "a-long-shared-secret",
            "HAVIP_MIN_CONSECUTIVE_FAILURES": "3",
            "HAVIP_EVENT_BUS": " havip-failover ",
            "HAVIP_EVENTBRIDGE_ENDPOINT": "127.0.0.1:8765",
            "LOG_LEVEL": "debug",
        }
    )
    assert (c.event_bus, c.eventbridge_endpoint) == ("havip-failover", "127.0.0.1:8765")
    assert c.ha_vip_ids == ("havip-bp1a000000000001", "havip-bp1b000000000002")
    assert c.region_id == "cn-shanghai"
    assert (c.force, c.allow_last_instance, c.dry_run, c.wait_seconds) == ("never", True, True, 12.5)
    assert (c.vpc_endpoint, c.vpc_protocol) == ("127.0.0.1:8765", "http")
    assert c.callback_token == "a-long-shared-secret"
    assert (c.min_consecutive_failures, c.log_level) == (3, "DEBUG")


def test_wait_seconds_zero_means_do_not_wait_and_nan_is_refused() -> None:
    assert load({"HAVIP_WAIT_SECONDS": "0"}).wait_seconds == 0
    for bad in ("nan", "-0.5", "901", "soon"):
        with pytest.raises(ConfigError, match="HAVIP_WAIT_SECONDS"):
            load({"HAVIP_WAIT_SECONDS": bad})


def test_fc_region_is_the_default_region() -> None:
    assert load({"FC_REGION": "cn-beijing"}).region_id == "cn-beijing"
    assert load({"FC_REGION": "cn-beijing", "HAVIP_REGION_ID": "cn-shanghai"}).region_id == "cn-shanghai"


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load(
            {
                "HAVIP_IDS": "havip-bp1ok,vip-bad",
                "HAVIP_REGION_ID": "Hangzhou",
                "HAVIP_FORCE": "always",
                "HAVIP_ALLOW_LAST_INSTANCE": "maybe",
                "HAVIP_DRY_RUN": "yes please",
                "HAVIP_WAIT_SECONDS": "-1",
                "HAVIP_VPC_ENDPOINT": "https://vpc.cn-hangzhou.aliyuncs.com",
                "HAVIP_VPC_PROTOCOL": "ftp",
                "HAVIP_MIN_CONSECUTIVE_FAILURES": "0",
                "LOG_LEVEL": "LOUD",
            }
        )
    text = str(info.value)
    for name in (
        "HAVIP_IDS",
        "HAVIP_REGION_ID",
        "HAVIP_FORCE",
        "HAVIP_ALLOW_LAST_INSTANCE",
        "HAVIP_DRY_RUN",
        "HAVIP_WAIT_SECONDS",
        "HAVIP_VPC_ENDPOINT",
        "HAVIP_VPC_PROTOCOL",
        "HAVIP_MIN_CONSECUTIVE_FAILURES",
        "LOG_LEVEL",
    ):
        assert name in text
    assert len(info.value.problems) == 10


def test_callback_token_value_is_never_in_errors_or_repr() -> None:
    secret = "tok\u00e9n-with-non-ascii"
    with pytest.raises(ConfigError) as info:
        load({"HAVIP_CALLBACK_TOKEN": secret})
    assert secret not in str(info.value)
    c = load({"HAVIP_CALLBACK_TOKEN": "the-real-callback-secret"})
    assert "the-real-callback-secret" not in repr(c)
    assert "the-real-callback-secret" not in str(c.public())


def test_sdk_debug_logging_is_refused() -> None:
    with pytest.raises(ConfigError, match="DEBUG=sdk"):
        load({"DEBUG": "sdk"})


def test_variables_list_matches_what_load_reads() -> None:
    import inspect

    from havip_failover import config

    source = inspect.getsource(config.load)
    for name in VARIABLES:
        assert f'"{name}"' in source


def test_a_rejected_boolean_lists_the_accepted_spellings() -> None:
    with pytest.raises(ConfigError) as info:
        load({"HAVIP_DRY_RUN": "maybe", "HAVIP_REQUIRE_SURVIVOR": "nope"})
    dry, survivor = info.value.problems
    for spelling in ("true", "1", "yes", "on", "false", "0", "no", "off"):
        assert spelling in dry
    assert "empty: false" in dry and "'maybe'" in dry
    assert "empty: true" in survivor  # its own default
    for spelling in ("TRUE", "Yes", "on", " 0 ", "Off", ""):
        load({"HAVIP_DRY_RUN": spelling})  # every listed spelling is accepted, in any case


def test_every_bad_havip_id_is_named_with_the_shape_of_a_good_one() -> None:
    with pytest.raises(ConfigError) as info:
        load({"HAVIP_IDS": "foo,havip-x,havip-bp1pair0000000001,HAVIP-BP1PAIR0000000001,havip-bp1"})
    (problem,) = info.value.problems
    assert problem.startswith("HAVIP_IDS: 'foo', 'havip-x', 'HAVIP-BP1PAIR0000000001', 'havip-bp1' are not HAVIP ids")
    assert "'havip-bp1pair0000000001'" not in problem
    assert "e.g. havip-bp1pair0000000001" in problem
    with pytest.raises(ConfigError, match=r"^invalid configuration: HAVIP_IDS: 'havip-x' is not a HAVIP id \("):
        load({"HAVIP_IDS": "havip-x"})


@pytest.mark.parametrize(
    "real",
    [
        "havip-bp1v99cgsk6l7a5z0vhcz",  # Alibaba Cloud's documentation (cn-hangzhou)
        "havip-2zeo05qre24nhrqpy1234",  # (cn-beijing)
        "havip-uf6pair0000000001",  # the deployment tests' Shanghai pair
        "havip-bp1pair0000000001",  # the emulator's pair
    ],
)
def test_real_havip_ids_are_accepted(real: str) -> None:
    assert load({"HAVIP_IDS": real}).ha_vip_ids == (real,)


def test_rejections_say_what_is_accepted() -> None:
    cases = {
        "HAVIP_REGION_ID": ("Hangzhou", "e.g. cn-hangzhou"),
        "HAVIP_FORCE": ("always", "auto or never"),
        "HAVIP_VPC_PROTOCOL": ("ftp", "http or https"),
        "HAVIP_WAIT_SECONDS": ("soon", "from 0 to 900"),
        "HAVIP_MIN_CONSECUTIVE_FAILURES": ("0", "from 1 to 100"),
        "HAVIP_MAX_EVENT_AGE_SECONDS": ("-5", "from 0 (0: no limit) to 604800"),
        "HAVIP_FAILBACK_HOLD_SECONDS": ("x", "from 0 to 86400"),
        "HAVIP_COOLDOWN_SECONDS": ("x", "from 0 (0: off) to 86400"),
        "HAVIP_TAG": ("novalue", "key=value"),
        "HAVIP_FAILBACK": ("always", "off or standby"),
        "HAVIP_VPC_ENDPOINT": ("vpc host", "e.g. vpc-vpc.cn-hangzhou.aliyuncs.com or 127.0.0.1:8765"),
        "HAVIP_ECS_ENDPOINT": ("http://127.0.0.1:8765", "without a scheme"),
        "HAVIP_EVENTBRIDGE_ENDPOINT": ("https://eventbridge.cn-hangzhou.aliyuncs.com", "without a scheme"),
        "HAVIP_EVENT_BUS": ("my_bus", "letters, digits and hyphens"),
        "LOG_LEVEL": ("LOUD", "DEBUG, INFO, WARNING, ERROR"),
    }
    for name, (value, accepted) in cases.items():
        with pytest.raises(ConfigError) as info:
            load({name: value})
        (problem,) = info.value.problems
        assert problem.startswith(name) and accepted in problem, (name, problem)
    with pytest.raises(ConfigError, match="FC_REGION: 'Hangzhou' is not a region id"):
        load({"FC_REGION": "Hangzhou"})


def test_the_record_key_is_required_and_never_shown() -> None:
    with pytest.raises(ConfigError) as missing:
        load_config({})
    assert any("HAVIP_RECORD_KEY is not set" in p and "openssl rand -hex 32" in p for p in missing.value.problems)
    short = "k" * 31
    with pytest.raises(ConfigError) as too_short:
        load({"HAVIP_RECORD_KEY": short, "HAVIP_RECORD_KEY_PREVIOUS": " padded-previous-key-0123456789abcdef"})
    problems = too_short.value.problems
    assert any("HAVIP_RECORD_KEY must be at least 32 characters (it has 31)" in p for p in problems)
    assert any("HAVIP_RECORD_KEY_PREVIOUS must be printable ASCII" in p for p in problems)
    assert all(short not in p and "padded-previous" not in p for p in problems)
    rotating = load({"HAVIP_RECORD_KEY_PREVIOUS": "the-previous-record-key-0123456789"})
    assert RECORD_KEY not in repr(rotating) and "the-previous" not in repr(rotating)
    assert rotating.public()["recordKeySet"] is True and RECORD_KEY not in str(rotating.public())
    assert rotating.record_secrets == (RECORD_KEY, "the-previous-record-key-0123456789")


@pytest.mark.parametrize(
    "bad", ["default", "eventbridge-reserved-x", "-bus", "bus.name", "bus name", "b" * 128, "总线"]
)
def test_an_event_bus_is_a_custom_bus_name(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({"HAVIP_EVENT_BUS": bad})
    (problem,) = info.value.problems
    assert problem.startswith("HAVIP_EVENT_BUS:") and "empty: publish nothing" in problem


@pytest.mark.parametrize("good", ["havip-failover", "ops-events-2", "B", "b" * 127])
def test_custom_bus_names_are_accepted(good: str) -> None:
    assert load({"HAVIP_EVENT_BUS": good}).event_bus == good
    assert load({"HAVIP_EVENT_BUS": "  "}).event_bus is None
