"""The RAM policy grants exactly the VPC, ECS and EventBridge actions the code calls; FC can
assume the role."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from typing import Any

from tests.deploy.deployfiles import HANDLER, policy

VPC_PY = HANDLER / "havip_failover" / "vpc.py"
# The bus the deployment guide has you create (docs/deployment.md, "Events"): PutEvents is
# granted on it alone (EventBridge's resource for a bus: acs:eventbridge:<region>:<account>:eventbus/<name>).
EVENT_BUS = "havip-failover"
# The resources each action is authorised on (VPC API reference, "Authorization information":
# DescribeHaVips on havip/*, UnassociateHaVip on the HaVip and on the instance or ENI).
RESOURCES = {
    "vpc:DescribeHaVips": {"acs:vpc:*:*:havip/*"},
    "vpc:UnassociateHaVip": {"acs:vpc:*:*:havip/*", "acs:vpc:*:*:instance/*"},
    "vpc:AssociateHaVip": {"acs:vpc:*:*:havip/*", "acs:vpc:*:*:instance/*"},
    "vpc:TagResources": {"acs:vpc:*:*:havip/*"},
    "vpc:UnTagResources": {"acs:vpc:*:*:havip/*"},
    "vpc:ListTagResources": {"acs:vpc:*:*:havip/*"},
    # Read-only listings, on every resource: a resource scope the API does not support would
    # make every survivor check fail, and with it every failover (the check fails closed).
    "ecs:DescribeInstanceStatus": {"*"},
    "ecs:DescribeNetworkInterfaces": {"*"},
    "eventbridge:PutEvents": {f"acs:eventbridge:*:*:eventbus/{EVENT_BUS}"},
}
# The generated client that names each product's actions (where installed: a parity-test dependency).
GENERATED = {
    "vpc": "alibabacloud_vpc20160428.client",
    "ecs": "alibabacloud_ecs20140526.client",
    "eventbridge": "alibabacloud_eventbridge20200401.client",
}
READ_ONLY_ANYWHERE = {"ecs:DescribeInstanceStatus", "ecs:DescribeNetworkInterfaces"}


def _actions_called() -> set[str]:
    """The API actions vpc.py calls: the first argument of every `self._call(...)`, either
    the action itself (`"DescribeHaVips"`, tea-openapi's call_api) or the generated client's
    method (`"describe_ha_vips_with_options"`), in the product its `service=` names (VPC when
    none)."""
    tree = ast.parse(VPC_PY.read_text(encoding="utf-8"))
    actions: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_pages":
            # ECS listings go through _pages("Action", ...)
            first = node.args[0] if node.args else None
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), node.lineno
            actions.add(f"ecs:{first.value}")
            continue
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_call"):
            continue
        first = node.args[0] if node.args else None
        service = next((k.value for k in node.keywords if k.arg == "service"), None)
        if service is not None and not isinstance(first, ast.Constant):
            continue  # the ECS call inside _pages: its actions are the _pages calls
        product = "vpc"
        if service is not None:
            assert isinstance(service, ast.Constant) and service.value in GENERATED, node.lineno
            product = service.value
        assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
            f"vpc.py line {node.lineno}: the action is not a literal, so the policy cannot be checked against it"
        )
        name = first.value
        if name.endswith("_with_options"):
            name = "".join(part.capitalize() for part in name.removesuffix("_with_options").split("_"))
        assert re.fullmatch(r"[A-Z][A-Za-z]+", name), name
        _confirm_in_the_sdk(name, product)
        actions.add(f"{product}:{name}")
    return actions


def _confirm_in_the_sdk(action: str, product: str = "vpc") -> None:
    """The generated client of the product (where installed) has this action under this name."""
    try:
        Client = importlib.import_module(GENERATED[product]).Client
    except ImportError:
        return
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower() + "_with_options"
    source = inspect.getsource(getattr(Client, method))
    assert re.search(rf"action\s*=\s*'{action}'", source), f"the SDK's {method} does not call {action}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_policy_holds_exactly_the_actions_the_code_calls() -> None:
    called = _actions_called()
    assert called, "found no API calls in vpc.py: the scan is broken"
    document = policy("ram-policy.json")
    granted = {a for s in document["Statement"] for a in _as_list(s["Action"])}
    assert granted == called


def test_the_policy_allows_only_and_is_scoped_by_resource() -> None:
    document = policy("ram-policy.json")
    assert document["Version"] == "1"
    for statement in document["Statement"]:
        assert set(statement) <= {"Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert "*" not in action, action
            resources = set(_as_list(statement["Resource"]))
            assert "*" not in resources or action in READ_ONLY_ANYWHERE, f"{action} is granted on every resource"
            # a new action: add its resources from the API reference's authorization table
            assert resources == RESOURCES.get(action), (action, resources)


def test_fc_can_assume_the_role() -> None:
    document = policy("fc-trust-policy.json")
    assert document["Version"] == "1"
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert _as_list(statement["Principal"]["Service"]) == ["fc.aliyuncs.com"]
    assert set(statement["Principal"]) == {"Service"}
