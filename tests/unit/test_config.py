"""Configuration: defaults, every variable, and every problem named at once."""

from __future__ import annotations

import pytest

from havip_failover.config import VARIABLES, ConfigError, load


def test_defaults() -> None:
    c = load({})
    assert c.ha_vip_ids == ()
    assert c.region_id is None
    assert (c.force, c.allow_last_instance, c.dry_run) == ("auto", False, False)
    assert c.wait_seconds == 30.0
    assert (c.vpc_endpoint, c.vpc_protocol) == (None, "https")
    assert c.callback_token is None
    assert (c.min_consecutive_failures, c.log_level) == (1, "INFO")


def test_every_variable_is_read() -> None:
    c = load(
        {
            "HAVIP_IDS": " havip-a1, havip-b2,havip-a1 ",
            "HAVIP_REGION_ID": "cn-shanghai",
            "HAVIP_FORCE": "NEVER",
            "HAVIP_ALLOW_LAST_INSTANCE": "true",
            "HAVIP_DRY_RUN": "1",
            "HAVIP_WAIT_SECONDS": "12.5",
            "HAVIP_VPC_ENDPOINT": "127.0.0.1:8765",
            "HAVIP_VPC_PROTOCOL": "http",
            "HAVIP_CALLBACK_TOKEN": "a-long-shared-secret",
            "HAVIP_MIN_CONSECUTIVE_FAILURES": "3",
            "LOG_LEVEL": "debug",
        }
    )
    assert c.ha_vip_ids == ("havip-a1", "havip-b2")
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
                "HAVIP_IDS": "havip-ok,vip-bad",
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
