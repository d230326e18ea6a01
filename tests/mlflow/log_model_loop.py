"""An MLflow training job, unchanged, against the registry: `start_run`,
`log_param`/`log_metric`/`set_tag`, `mlflow.pyfunc.log_model(...,
registered_model_name=...)` (MLflow 3 logged models), then the alias set and
the model loaded by `models:/name@alias` in a fresh process. The same for
`register_model("runs:/<run>/model")` with files logged into the run. The
registered version carries the run's params, metrics, series and commit.

Run by `tests/mlflow.rs` with MLFLOW_TRACKING_URI and the users' credentials
in the environment. Exits non-zero on the first failed check.
"""

import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

uri = os.environ["MLFLOW_TRACKING_URI"]
users = {
    role: (os.environ[f"{role.upper()}_USER"], os.environ[f"{role.upper()}_PASSWORD"])
    for role in ["admin", "contributor", "viewer"]
}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def act_as(role):
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = users[role]


def rest(role, method, path, **kwargs):
    return requests.request(method, f"{uri}/api/v1{path}", auth=users[role], **kwargs)


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input.apply(lambda column: column + self.n)


def load_in_fresh_process(model_uri, role="viewer"):
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


mlflow.set_tracking_uri(uri)
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
act_as("contributor")

# 1. The training job as teams write it, registering through log_model.
mlflow.set_experiment("fraud-training")
with mlflow.start_run(run_name="nightly", tags={"mlflow.source.git.commit": COMMIT}) as run:
    mlflow.log_param("learning_rate", "0.1")
    mlflow.log_params({"depth": 6, "trees": 200})
    for step, loss in enumerate([0.9, 0.6, 0.4]):
        mlflow.log_metric("loss", loss, step=step)
    mlflow.log_metric("auc", 0.93)
    mlflow.set_tag("team", "fraud")
    info = mlflow.pyfunc.log_model(name="model", python_model=AddN(5), registered_model_name="fraud")
run_id = run.info.run_id
assert str(info.registered_model_version) == "1", info.registered_model_version
assert client.get_run(run_id).info.status == "FINISHED"
assert client.get_run(run_id).data.params["depth"] == "6"

client.set_registered_model_alias("fraud", "candidate", "1")
assert load_in_fresh_process("models:/fraud@candidate") == "[6, 7]"
assert load_in_fresh_process("models:/fraud/1") == "[6, 7]"

# The version carries the run: lineage, params, final metrics and the series.
v = rest("viewer", "GET", "/models/fraud/versions/0.0.1").json()
assert v["lineage"]["commit_sha"] == COMMIT, v["lineage"]
assert v["tags"]["mlflow.run_id"] == run_id, v["tags"]
assert v["params"]["learning_rate"] == "0.1" and v["params"]["trees"] == "200", v["params"]
assert v["metrics"]["loss"] == 0.4 and v["metrics"]["auc"] == 0.93, v["metrics"]
files = v["artifacts"]
paths = sorted(f["path"] for f in files)
assert "MLmodel" in paths and "python_model.pkl" in paths, paths
assert all(len(f["sha256"]) == 64 for f in files), files
assert [p["value"] for p in v["series"]["loss"]] == [0.9, 0.6, 0.4], v["series"]
assert v["content_digest"].startswith("sha256:"), v
# The client linked its logged model to the version, as with MLflow's server.
mv = client.get_model_version("fraud", "1")
assert mv.source.startswith("models:/m-"), mv.source
logged = client.get_logged_model(mv.source[len("models:/"):])
assert str(logged.status).endswith("READY"), logged.status
assert "fraud" in logged.tags.get("mlflow.modelVersions", ""), logged.tags

# 2. The older way: files logged into the run, then register_model("runs:/…").
with mlflow.start_run() as run2:
    mlflow.log_metric("loss", 0.2)
    path = os.path.join(tempfile.mkdtemp(), "model")
    mlflow.pyfunc.save_model(path, python_model=AddN(10))
    mlflow.log_artifacts(path, artifact_path="model")
registered = mlflow.register_model(f"runs:/{run2.info.run_id}/model", "fraud")
assert registered.version == "2", registered.version
assert load_in_fresh_process("models:/fraud/2") == "[11, 12]"

# 3. A viewer reads runs but cannot log, nor register.
act_as("viewer")
assert client.get_run(run_id).data.tags["team"] == "fraud"
for attempt in [
    lambda: client.log_param(run_id, "sneaky", "1"),
    lambda: client.create_run("0"),
    lambda: client.create_model_version("fraud", f"runs:/{run_id}/model", run_id),
]:
    try:
        attempt()
        raise AssertionError("a viewer wrote")
    except MlflowException as e:
        assert e.error_code == "PERMISSION_DENIED", e

viewer_auth = users["viewer"]
experiment = run.info.experiment_id
res = requests.put(
    f"{uri}/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run_id}/artifacts/notes.txt", data=b"x", auth=viewer_auth
)
assert res.status_code == 403 and res.json()["error_code"] == "PERMISSION_DENIED", res.text
res = requests.post(f"{uri}/api/2.0/mlflow/logged-models", json={"experiment_id": experiment}, auth=viewer_auth)
assert res.status_code == 403 and res.json()["error_code"] == "PERMISSION_DENIED", res.text
# A viewer can download what was logged.
model_id = mv.source[len("models:/"):]
res = requests.get(
    f"{uri}/api/2.0/mlflow-artifacts/artifacts/{experiment}/models/{model_id}/artifacts/MLmodel", auth=viewer_auth
)
assert res.status_code == 200 and b"python_function" in res.content, res.status_code

# 4. Bad input: MLflow-shaped errors, nothing written.
act_as("contributor")
api = f"{uri}/api/2.0/mlflow"
auth = users["contributor"]
for body, code in [
    ({"run_id": "f" * 32, "key": "k", "value": "v"}, "RESOURCE_DOES_NOT_EXIST"),
    ({"run_id": "../../etc", "key": "k", "value": "v"}, "RESOURCE_DOES_NOT_EXIST"),
    ({"run_id": run_id, "key": "bad key!", "value": "v"}, "INVALID_PARAMETER_VALUE"),
    ({"run_id": run_id, "key": "learning_rate", "value": "0.5"}, "INVALID_PARAMETER_VALUE"),
]:
    res = requests.post(f"{api}/runs/log-parameter", json=body, auth=auth)
    assert res.status_code in (400, 404) and res.json()["error_code"] == code, (body, res.text)
for body in [
    {"run_id": run_id, "metrics": [{"key": "m", "value": "NaN", "timestamp": 1, "step": 0}]},
    {"run_id": run_id, "metrics": [{"key": "m"}]},
    {"run_id": run_id, "metrics": "not a list"},
    {"run_id": run_id, "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": i} for i in range(1001)]},
    {"run_id": run_id, "params": [{"key": "p", "value": "1"}, {"key": "p", "value": "2"}]},
]:
    res = requests.post(f"{api}/runs/log-batch", json=body, auth=auth)
    assert res.status_code == 400 and res.json()["error_code"] == "INVALID_PARAMETER_VALUE", res.text
history = client.get_metric_history(run_id, "m")
assert history == [], history
res = requests.post(f"{api}/model-versions/create", json={"name": "fraud", "source": "models:/m-" + "0" * 32}, auth=auth)
assert res.status_code == 404 and res.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", res.text
res = requests.post(f"{api}/model-versions/create", json={"name": "fraud", "source": "runs:/not-a-run/model"}, auth=auth)
assert res.status_code == 400 and res.json()["error_code"] == "INVALID_PARAMETER_VALUE", res.text
for bad in [f"0/{run_id}/artifacts/../../x", f"0/{run_id}/elsewhere/x", "0/models/m-zz/artifacts/x"]:
    res = requests.put(f"{uri}/api/2.0/mlflow-artifacts/artifacts/{bad}", data=b"x", auth=auth)
    assert res.status_code in (400, 404), (bad, res.status_code, res.text)
# A run's files answer only under the run's own experiment.
res = requests.get(f"{uri}/api/2.0/mlflow-artifacts/artifacts", params={"path": f"999/{run2.info.run_id}/artifacts"}, auth=auth)
assert res.status_code == 404 and res.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", res.text
# A logged model is finalized ready or failed, never back to pending.
res = requests.patch(f"{api}/logged-models/{model_id}", json={"status": "LOGGED_MODEL_PENDING"}, auth=auth)
assert res.status_code == 400 and res.json()["error_code"] == "INVALID_PARAMETER_VALUE", res.text
assert str(client.get_logged_model(model_id).status).endswith("READY")

# 5. An upload cut off mid-body records nothing.
target = urllib.parse.urlparse(uri)
credentials = base64.b64encode(":".join(auth).encode()).decode()
conn = socket.create_connection((target.hostname, target.port))
conn.sendall(
    (
        f"PUT /api/2.0/mlflow-artifacts/artifacts/{experiment}/{run_id}/artifacts/partial.bin HTTP/1.1\r\n"
        f"Host: {target.netloc}\r\nAuthorization: Basic {credentials}\r\nContent-Length: 1000000\r\n\r\n"
    ).encode()
    + b"x" * 1000
)
conn.close()
time.sleep(1)
listed = [f.path for f in client.list_artifacts(run_id)]
assert "partial.bin" not in listed, listed

assert len(rest("viewer", "GET", "/models/fraud/versions").json()) == 2

print("all checks passed")
