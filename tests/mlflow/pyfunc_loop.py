"""MLflow's loading loop against a live registry, with the full `mlflow`
package: versions whose files were uploaded through our REST API and
through MLflow's own artifact client load with `mlflow.pyfunc.load_model`
by `models:/name/N`, `@alias`, `/latest`, stage and `@production`, each
in a fresh process, and predict what the model computes.

Run by `tests/mlflow.rs` with MLFLOW_TRACKING_URI and the users' credentials
in the environment. Exits non-zero on the first failed check.
"""

import os
import subprocess
import sys
import tempfile

import requests

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

uri = os.environ["MLFLOW_TRACKING_URI"]
users = {
    role: (os.environ[f"{role.upper()}_USER"], os.environ[f"{role.upper()}_PASSWORD"])
    for role in ["admin", "contributor", "approver", "approver2", "viewer"]
}


def act_as(role):
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = users[role]


def rest(role, method, path, **kwargs):
    res = requests.request(method, f"{uri}/api/v1{path}", auth=users[role], **kwargs)
    return res


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input.apply(lambda column: column + self.n)


def saved_model(n):
    """A pyfunc model directory (MLmodel, python_model.pkl, env files)."""
    path = os.path.join(tempfile.mkdtemp(), "model")
    mlflow.pyfunc.save_model(path, python_model=AddN(n))
    return path


def files_of(root):
    for base, _, names in os.walk(root):
        for name in names:
            full = os.path.join(base, name)
            yield os.path.relpath(full, root).replace(os.sep, "/"), full


def load_in_fresh_process(model_uri, role="viewer"):
    """Loads and predicts in a new interpreter: nothing cached from this one."""
    user, password = users[role]
    code = (
        "import sys, pandas, mlflow.pyfunc\n"
        "m = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "print(list(m.predict(pandas.DataFrame({'x': [1, 2]}))['x']))\n"
    )
    env = dict(os.environ, MLFLOW_TRACKING_USERNAME=user, MLFLOW_TRACKING_PASSWORD=password)
    out = subprocess.run(
        [sys.executable, "-c", code, model_uri], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, f"{model_uri}: {out.stdout}\n{out.stderr}"
    return out.stdout.strip().splitlines()[-1]


def expect_refusal(expected, fn, *args):
    """`fn` must fail, and the server's answer must say `expected`."""
    try:
        fn(*args)
    except (requests.HTTPError, MlflowException) as e:
        assert expected in str(e), str(e)
        return
    raise AssertionError(f"{fn.__name__} succeeded; expected a refusal saying {expected!r}")


client = MlflowClient(tracking_uri=uri, registry_uri=uri)

# 1. A version registered and uploaded through our REST API.
assert rest("contributor", "POST", "/models", json={"name": "adder"}).status_code == 201
assert rest("contributor", "POST", "/models/adder/versions", json={"version": "1.0.0"}).status_code == 201
for rel, full in files_of(saved_model(5)):
    with open(full, "rb") as f:
        res = rest("contributor", "PUT", f"/models/adder/versions/1.0.0/artifacts/{rel}", data=f)
    assert res.status_code == 201, (rel, res.status_code, res.text)

act_as("contributor")
assert client.get_model_version_download_uri("adder", "1") == "mlflow-artifacts:/models/adder/1.0.0"
assert client.get_model_version("adder", "1").source == "mlflow-artifacts:/models/adder/1.0.0"
client.set_registered_model_alias("adder", "candidate", "1")
for model_uri in ["models:/adder/1", "models:/adder@candidate", "models:/adder/latest"]:
    assert load_in_fresh_process(model_uri) == "[6, 7]", model_uri

# 2. A version whose files go up through MLflow's own artifact client (PUT).
assert rest("contributor", "POST", "/models/adder/versions", json={"version": "1.1.0"}).status_code == 201
repo = get_artifact_repository("mlflow-artifacts:/models/adder/1.1.0")
repo.log_artifacts(saved_model(10))
listed = sorted(f.path for f in repo.list_artifacts())
assert "MLmodel" in listed and "python_model.pkl" in listed, listed
assert load_in_fresh_process("models:/adder/2") == "[11, 12]"
# Its checksums are ours: the REST listing carries a SHA-256 for every file.
files = rest("viewer", "GET", "/models/adder/versions/1.1.0/artifacts").json()
assert files and all(len(f["sha256"]) == 64 for f in files), files

# 3. A viewer loads but cannot log.
act_as("viewer")
viewer_repo = get_artifact_repository("mlflow-artifacts:/models/adder/1.1.0")
expect_refusal("PERMISSION_DENIED", viewer_repo.log_artifact, __file__)

# 4. `staging` and `production` are the stages, under the approval policy:
#    setting them opens a request (one sign-off for staging, two for
#    production by default) and answers PERMISSION_DENIED naming it.
act_as("contributor")


def request_opened_by_alias(alias, version):
    try:
        client.set_registered_model_alias("adder", alias, version)
    except MlflowException as e:
        assert e.error_code == "PERMISSION_DENIED", e
        assert "request #" in e.message, e.message
        return int(e.message.split("request #")[1].split(" ")[0])
    raise AssertionError(f"{alias} moved without sign-offs")


def approve(request_id, approvers):
    for approver in approvers:
        res = rest(approver, "POST", f"/models/adder/requests/{request_id}/approve", json={})
        assert res.status_code == 200, res.text


try:
    client.get_model_version_by_alias("adder", "production")
    raise AssertionError("a production version before any sign-off")
except MlflowException as e:
    assert e.error_code == "INVALID_PARAMETER_VALUE", e
approve(request_opened_by_alias("staging", "2"), ["approver"])
assert client.get_model_version_by_alias("adder", "staging").version == "2"
approve(request_opened_by_alias("production", "2"), ["approver", "approver2"])
assert client.get_model_version_by_alias("adder", "production").version == "2"
assert client.get_model_version("adder", "2").current_stage == "Production"
assert load_in_fresh_process("models:/adder@production") == "[11, 12]"
assert load_in_fresh_process("models:/adder/Production") == "[11, 12]"
try:
    client.delete_registered_model_alias("adder", "production")
    raise AssertionError("the production alias was deleted")
except MlflowException as e:
    assert e.error_code == "INVALID_PARAMETER_VALUE", e

# 5. A released version's files cannot change through MLflow's protocol either.
expect_refusal("is frozen", repo.log_artifact, __file__)
act_as("admin")
admin_repo = get_artifact_repository("mlflow-artifacts:/models/adder/1.1.0")
expect_refusal("is frozen", admin_repo.delete_artifacts, "MLmodel")
assert load_in_fresh_process("models:/adder@production") == "[11, 12]"

# 6. Files that live elsewhere: MLflow answers the source, and so do we.
act_as("contributor")
client.create_registered_model("external")
v = client.create_model_version("external", "s3://models-bucket/external/1", run_id=None)
assert client.get_model_version_download_uri("external", v.version) == "s3://models-bucket/external/1"

# 7. Hostile paths are refused with MLflow's error shape, nothing stored.
for bad in ["models/adder/1.0.0/../../etc/passwd", "/etc/passwd", "models/adder/1.0.0/a\x00b", "runs/x/y"]:
    res = requests.get(f"{uri}/api/2.0/mlflow-artifacts/artifacts", params={"path": bad}, auth=users["viewer"])
    assert res.status_code == 400, (bad, res.status_code, res.text)
    assert res.json()["error_code"] == "INVALID_PARAMETER_VALUE", res.text
res = requests.put(
    f"{uri}/api/2.0/mlflow-artifacts/artifacts/models/adder/1.0.0/..%2F..%2Fescape", data=b"x", auth=users["admin"]
)
assert res.status_code in (400, 404), (res.status_code, res.text)
res = requests.get(f"{uri}/api/2.0/mlflow-artifacts/artifacts/models/adder/9.9.9/MLmodel", auth=users["viewer"])
assert res.status_code == 404 and res.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", res.text

# Multipart on a local artifact directory: "not supported" (the client then
# sends one PUT); forged or unknown upload ids complete nothing.
mpu = f"{uri}/api/2.0/mlflow-artifacts/mpu"
res = requests.post(f"{mpu}/create/models/adder/1.0.0", json={"path": "/tmp/w.bin", "num_parts": 2}, auth=users["admin"])
assert res.status_code == 501 and res.json()["message"].startswith("Multipart upload is not supported"), res.text
for upload_id, status, code in [
    ("../../v/1/x", 400, "INVALID_PARAMETER_VALUE"),
    ("0123456789abcdef0123456789abcdef.someone-elses", 404, "RESOURCE_DOES_NOT_EXIST"),
]:
    body = {"path": "/tmp/w.bin", "upload_id": upload_id, "parts": [{"part_number": 1, "etag": "x"}]}
    res = requests.post(f"{mpu}/complete/models/adder/1.0.0", json=body, auth=users["admin"])
    assert res.status_code == status and res.json()["error_code"] == code, (upload_id, res.text)
res = requests.post(f"{mpu}/create/models/adder/1.0.0", json={"path": "../../etc/passwd", "num_parts": 1}, auth=users["viewer"])
assert res.status_code in (400, 403), res.text

print("all checks passed")
