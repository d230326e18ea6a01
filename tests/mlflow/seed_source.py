"""Seeds a real MLflow server (MLFLOW_TRACKING_URI) for the import test:
model `fraud` with three versions logged by `log_model` (v3 also carries a
5 MB `big.bin`), stage changes (v1 Archived, v2 Production, v3 Staging),
aliases (`champion` → 2, `candidate` → 3), a description and tags; model
`churn` and `scratch` with one version each (the test's patterns select
some of them).
Prints "seeded" when done.
"""

import os
import tempfile

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input.apply(lambda column: column + self.n)


client = MlflowClient()
client.create_registered_model("fraud", tags={"team": "fraud"}, description="Card fraud scores.")
for n in [1, 2, 3]:
    with mlflow.start_run():
        mlflow.log_param("n", n)
        extra = None
        if n == 3:
            extra = os.path.join(tempfile.mkdtemp(), "big.bin")
            with open(extra, "wb") as f:
                f.write(os.urandom(5 * 1024 * 1024))
        mlflow.pyfunc.log_model(
            name="model",
            python_model=AddN(n),
            registered_model_name="fraud",
            artifacts={"big": extra} if extra else None,
        )
client.update_model_version("fraud", "2", description="The one in production.")
client.set_model_version_tag("fraud", "2", "reviewed", "yes")
client.transition_model_version_stage("fraud", "1", "Archived")
client.transition_model_version_stage("fraud", "2", "Production")
client.transition_model_version_stage("fraud", "3", "Staging")
client.set_registered_model_alias("fraud", "champion", "2")
client.set_registered_model_alias("fraud", "candidate", "3")
for name, n in [("churn", 7), ("scratch", 9)]:
    with mlflow.start_run():
        mlflow.pyfunc.log_model(name="model", python_model=AddN(n), registered_model_name=name)
print("seeded")
