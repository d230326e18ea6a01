"""The official MLflow client against a live registry.

Run by `tests/mlflow.rs` with MLFLOW_TRACKING_URI and credentials in the
environment (a contributor by default; ADMIN_* and APPROVER_* for the calls
that need those roles). Exits non-zero on the first failed check.
"""

import os
import re
import sys

import requests

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

uri = os.environ["MLFLOW_TRACKING_URI"]


class client_as:
    """An MlflowClient acting as one user. The client reads its credentials
    from the environment on every request, so each call sets them first."""

    def __init__(self, user: str, password: str):
        self.user, self.password = user, password
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def __getattr__(self, name):
        method = getattr(self.client, name)

        def call(*args, **kwargs):
            os.environ["MLFLOW_TRACKING_USERNAME"] = self.user
            os.environ["MLFLOW_TRACKING_PASSWORD"] = self.password
            return method(*args, **kwargs)

        call.__name__ = name
        return call


def expect_error(code: str, fn, *args, **kwargs) -> MlflowException:
    try:
        fn(*args, **kwargs)
    except MlflowException as e:
        assert e.error_code == code, f"{fn.__name__}: expected {code}, got {e.error_code}: {e.message}"
        return e
    raise AssertionError(f"{fn.__name__} should have failed with {code}")


def main() -> None:
    admin = client_as(os.environ["ADMIN_USER"], os.environ["ADMIN_PASSWORD"])
    c = client_as(os.environ["CONTRIBUTOR_USER"], os.environ["CONTRIBUTOR_PASSWORD"])

    # Registered models: create, get, update, tags, search with filters, order and pages.
    m = c.create_registered_model("fraud-detector", tags={"team": "risk", "tier": "gold"}, description="Card fraud.")
    assert m.name == "fraud-detector" and m.description == "Card fraud.", m
    assert m.tags == {"team": "risk", "tier": "gold"}, m.tags
    for name, team in [("churn-model", "growth"), ("credit-risk", "risk"), ("fraud-rules", "risk")]:
        c.create_registered_model(name, tags={"team": team})
    expect_error("RESOURCE_ALREADY_EXISTS", c.create_registered_model, "fraud-detector")
    expect_error("RESOURCE_DOES_NOT_EXIST", c.get_registered_model, "no-such-model")

    c.update_registered_model("fraud-detector", description="Scores card payments.")
    assert c.get_registered_model("fraud-detector").description == "Scores card payments."
    c.set_registered_model_tag("fraud-detector", "owner", "alice")
    c.delete_registered_model_tag("fraud-detector", "tier")
    assert c.get_registered_model("fraud-detector").tags == {"team": "risk", "owner": "alice"}

    found = c.search_registered_models(filter_string="name LIKE 'fraud%'")
    assert sorted(m.name for m in found) == ["fraud-detector", "fraud-rules"], found
    found = c.search_registered_models(filter_string="tags.team = 'risk' AND name != 'fraud-rules'")
    assert sorted(m.name for m in found) == ["credit-risk", "fraud-detector"], found
    found = c.search_registered_models(filter_string="name ILIKE 'FRAUD-%'")
    assert len(found) == 2, found
    assert c.search_registered_models(filter_string="name LIKE 'FRAUD%'") == [], "LIKE is case-sensitive"
    ordered = c.search_registered_models(order_by=["name DESC"])
    assert [m.name for m in ordered] == ["fraud-rules", "fraud-detector", "credit-risk", "churn-model"], ordered
    page1 = c.search_registered_models(max_results=3, order_by=["name ASC"])
    assert len(page1) == 3 and page1.token, page1
    page2 = c.search_registered_models(max_results=3, order_by=["name ASC"], page_token=page1.token)
    assert [m.name for m in page2] == ["fraud-rules"] and not page2.token, page2
    expect_error("INVALID_PARAMETER_VALUE", c.search_registered_models, filter_string="name = 'x' OR 1=1")
    expect_error("INVALID_PARAMETER_VALUE", c.search_registered_models, filter_string="name = 'x'; DROP TABLE models")
    expect_error("INVALID_PARAMETER_VALUE", c.search_registered_models, max_results=5000)

    # Model versions: create (semver through the tag, or the next patch), get, update, tags, search.
    v1 = c.create_model_version("fraud-detector", "s3://models/fraud/1", run_id="run-a",
                                tags={"mlflow.semver": "2.1.0", "framework": "xgboost"}, description="first")
    assert v1.version == "1" and v1.current_stage == "None", v1
    assert v1.tags["mlflow.semver"] == "2.1.0" and v1.tags["framework"] == "xgboost", v1.tags
    assert v1.source == "s3://models/fraud/1" and v1.run_id == "run-a", v1
    v2 = c.create_model_version("fraud-detector", "s3://models/fraud/2", run_id="run-b")
    assert v2.version == "2" and v2.tags["mlflow.semver"] == "2.1.1", v2.tags
    v3 = c.create_model_version("fraud-detector", "s3://models/fraud/3")
    assert c.get_model_version("fraud-detector", "3").tags["mlflow.semver"] == "2.1.2"
    c.update_model_version("fraud-detector", "2", description="second")
    assert c.get_model_version("fraud-detector", "2").description == "second"
    c.set_model_version_tag("fraud-detector", "2", "validated", "yes")
    c.delete_model_version_tag("fraud-detector", "1", "framework")
    assert c.get_model_version("fraud-detector", "2").tags["validated"] == "yes"
    assert "framework" not in c.get_model_version("fraud-detector", "1").tags
    expect_error("RESOURCE_DOES_NOT_EXIST", c.get_model_version, "fraud-detector", "99")

    found = c.search_model_versions("name = 'fraud-detector' AND version_number >= 2")
    assert sorted(v.version for v in found) == ["2", "3"], found
    found = c.search_model_versions("run_id IN ('run-a', 'run-b')")
    assert sorted(v.version for v in found) == ["1", "2"], found
    found = c.search_model_versions("tags.validated = 'yes'")
    assert [v.version for v in found] == ["2"], found
    ordered = c.search_model_versions("name = 'fraud-detector'", order_by=["version_number ASC"], max_results=2)
    assert [v.version for v in ordered] == ["1", "2"] and ordered.token, ordered
    expect_error("INVALID_PARAMETER_VALUE", c.search_model_versions, "version_number = 'two'")

    # Aliases: unprotected ones move at once.
    c.set_registered_model_alias("fraud-detector", "canary", "1")
    c.set_registered_model_alias("fraud-detector", "challenger", "2")
    assert c.get_model_version_by_alias("fraud-detector", "canary").version == "1"
    c.set_registered_model_alias("fraud-detector", "canary", "2")
    assert c.get_model_version_by_alias("fraud-detector", "canary").version == "2"
    assert c.get_registered_model("fraud-detector").aliases == {"canary": "2", "challenger": "2"}
    assert sorted(c.get_model_version("fraud-detector", "2").aliases) == ["canary", "challenger"]
    # `champion` is protected by the default policy: the call opens a request, moves nothing.
    e = expect_error("PERMISSION_DENIED", c.set_registered_model_alias, "fraud-detector", "champion", "2")
    assert "request #" in e.message and "protected" in e.message, e.message
    expect_error("INVALID_PARAMETER_VALUE", c.get_model_version_by_alias, "fraud-detector", "champion")
    c.delete_registered_model_alias("fraud-detector", "challenger")
    expect_error("INVALID_PARAMETER_VALUE", c.get_model_version_by_alias, "fraud-detector", "challenger")
    expect_error("INVALID_PARAMETER_VALUE", c.set_registered_model_alias, "fraud-detector", "latest", "1")

    # Stages: Staging needs one sign-off by default, so the call opens a request and says so.
    e = expect_error("PERMISSION_DENIED", c.transition_model_version_stage, "fraud-detector", "1", "Staging")
    assert "transition request #" in e.message, e.message
    assert c.get_model_version("fraud-detector", "1").current_stage == "None"
    # An approver signs the named request off (our API); the version is then in Staging.
    request_id = re.search(r"transition request #(\d+)", e.message).group(1)
    res = requests.post(f"{uri}/api/v1/models/fraud-detector/requests/{request_id}/approve",
                        auth=(os.environ["APPROVER_USER"], os.environ["APPROVER_PASSWORD"]), json={}, timeout=10)
    assert res.status_code == 200, res.text
    assert c.get_model_version("fraud-detector", "1").current_stage == "Staging"
    # Archiving needs none: it applies.
    archived = c.transition_model_version_stage("fraud-detector", "3", "Archived")
    assert archived.current_stage == "Archived", archived
    latest = c.get_latest_versions("fraud-detector", stages=["Archived"])
    assert [v.version for v in latest] == ["3"], latest
    m = c.get_registered_model("fraud-detector")
    assert sorted((v.current_stage, v.version) for v in m.latest_versions) == [
        ("Archived", "3"), ("None", "2"), ("Staging", "1")], m.latest_versions

    uri_ = c.get_model_version_download_uri("fraud-detector", "1")
    # Its files live where it was registered from (no uploads here): MLflow
    # answers the source, and so do we.
    assert uri_ == "s3://models/fraud/1", uri_

    # Rename: versions follow.
    c.rename_registered_model("fraud-rules", "fraud-heuristics")
    assert c.get_registered_model("fraud-heuristics").name == "fraud-heuristics"
    expect_error("RESOURCE_DOES_NOT_EXIST", c.get_registered_model, "fraud-rules")

    # Deletes need an admin; a contributor is refused.
    expect_error("PERMISSION_DENIED", c.delete_model_version, "fraud-detector", "3")
    expect_error("PERMISSION_DENIED", c.delete_registered_model, "churn-model")
    admin.delete_model_version("fraud-detector", "3")
    expect_error("RESOURCE_DOES_NOT_EXIST", c.get_model_version, "fraud-detector", "3")
    admin.delete_registered_model("churn-model")
    expect_error("RESOURCE_DOES_NOT_EXIST", c.get_registered_model, "churn-model")
    # The name is free again.
    assert c.create_registered_model("churn-model").name == "churn-model"

    # A viewer reads but cannot write.
    viewer = client_as(os.environ["VIEWER_USER"], os.environ["VIEWER_PASSWORD"])
    assert viewer.get_registered_model("fraud-detector").name == "fraud-detector"
    expect_error("PERMISSION_DENIED", viewer.create_registered_model, "nope")
    expect_error("PERMISSION_DENIED", viewer.set_registered_model_tag, "fraud-detector", "k", "v")

    print("mlflow client session: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        raise
