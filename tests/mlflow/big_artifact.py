"""A large file through MLflow's own artifact client, both ways.

Uploads BIG_ARTIFACT_MB megabytes with `log_artifact` to a version's
`mlflow-artifacts:` directory with MLflow's multipart upload switched on
(the registry answers "not supported" and the client falls back to one
streamed PUT), downloads it again through `models:/big/1`, and checks the
SHA-256 both ways: the client's, the registry's, the downloaded file's.
Prints the seconds each direction took.
"""

import hashlib
import os
import sys
import tempfile
import time

import requests

import mlflow
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

uri = os.environ["MLFLOW_TRACKING_URI"]
auth = (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"])
size_mb = int(os.environ.get("BIG_ARTIFACT_MB", "600"))

work = tempfile.mkdtemp()
path = os.path.join(work, "weights.bin")
digest = hashlib.sha256()
block = os.urandom(1024 * 1024)
with open(path, "wb") as f:
    for i in range(size_mb):
        # Each megabyte differs, so a misplaced chunk changes the digest.
        chunk = i.to_bytes(8, "little") + block[8:]
        digest.update(chunk)
        f.write(chunk)
expected = digest.hexdigest()

started = time.monotonic()
repo = get_artifact_repository("mlflow-artifacts:/models/big/1.0.0")
completed = []
complete = repo.complete_multipart_upload
repo.complete_multipart_upload = lambda *a, **k: completed.append(1) or complete(*a, **k)
repo.log_artifact(path)
# On S3 the parts went to presigned URLs; on a local directory the registry
# said "not supported" and the client fell back to one streamed PUT.
expect_multipart = os.environ.get("EXPECT_MULTIPART") == "1"
assert bool(completed) == expect_multipart, (completed, expect_multipart)
upload_s = time.monotonic() - started

files = requests.get(f"{uri}/api/v1/models/big/versions/1.0.0/artifacts", auth=auth).json()
stored = {f["path"]: f for f in files}
assert stored["weights.bin"]["sha256"] == expected, (stored, expected)
assert stored["weights.bin"]["size"] == size_mb * 1024 * 1024, stored
os.remove(path)

started = time.monotonic()
local = mlflow.artifacts.download_artifacts(artifact_uri="models:/big/1", dst_path=os.path.join(work, "out"))
download_s = time.monotonic() - started
got = hashlib.sha256()
with open(os.path.join(local, "weights.bin"), "rb") as f:
    for chunk in iter(lambda: f.read(1024 * 1024), b""):
        got.update(chunk)
assert got.hexdigest() == expected, "the downloaded file differs"

print(f"{size_mb} MB ({'multipart' if completed else 'one PUT'}): upload {upload_s:.1f} s, download {download_s:.1f} s")
print("all checks passed")
sys.stdout.flush()
