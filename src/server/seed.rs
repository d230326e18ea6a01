//! Synthetic catalog data for demos and benchmarks: `model-registry seed`.
//! Bulk inserts (multi-row VALUES in large transactions) with explicit ids,
//! then the search index built in one statement: 50k models and 500k
//! versions take minutes, not hours.
//!
//! Seeded data obeys the rules real data does: every model, version and
//! stage change gets the audit event the services would write (chained, in
//! the same transaction as its rows), every stage change its history row,
//! and every version its content digest, so reports and point-in-time
//! answers over seeded data are true. What the seed cannot honestly invent
//! (who approved) it leaves out: its stage changes carry no request, and
//! their events say `"seeded": true`.

use std::collections::BTreeMap;

use serde_json::json;

use super::{
    db::{now_ms, Db},
    repo::{
        audit::{self, NewEvent, Origin, SystemEvent},
        seeding,
        sql::{insert_rows, Value},
    },
    services::content,
};
use crate::domain::{catalog::Lineage, SemVer, Stage};

const SEED_ACTOR: &str = "seed";
const SEED_REASON: &str = "seeded: synthetic data, no sign-off recorded";

const DOMAINS: [&str; 16] = [
    "fraud",
    "churn",
    "credit",
    "image",
    "text",
    "speech",
    "recommend",
    "search",
    "ads",
    "pricing",
    "demand",
    "support",
    "spam",
    "anomaly",
    "translation",
    "vision",
];
const KINDS: [&str; 10] = [
    "detector",
    "classifier",
    "ranker",
    "scorer",
    "tagger",
    "forecaster",
    "embedder",
    "segmenter",
    "summarizer",
    "predictor",
];
const TEAMS: [&str; 8] = [
    "risk", "growth", "vision", "nlp", "search", "ads", "trust", "ops",
];
const FRAMEWORKS: [&str; 6] = [
    "pytorch",
    "sklearn",
    "xgboost",
    "tensorflow",
    "lightgbm",
    "onnx",
];

/// A small deterministic generator: the same seed gives the same catalog.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SeedSize {
    pub models: u64,
    pub versions_per_model: u64,
}

/// Adds `size` synthetic models (named `<domain>-<kind>-<n>`) after any existing ones.
pub async fn seed(
    db: &Db,
    size: SeedSize,
    mut progress: impl FnMut(u64),
) -> Result<(), sqlx::Error> {
    let (first_model, mut next_version) = seeding::next_ids(db.pool()).await?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ first_model as u64);
    let now = now_ms();
    const BATCH: u64 = 2000;
    let mut done = 0;
    while done < size.models {
        let batch = BATCH.min(size.models - done);
        let (mut models, mut tags, mut versions, mut metrics) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut history, mut events) = (Vec::new(), Vec::new());
        for i in 0..batch {
            let id = first_model + (done + i) as i64;
            let domain = DOMAINS[rng.below(DOMAINS.len() as u64) as usize];
            let kind = KINDS[rng.below(KINDS.len() as u64) as usize];
            let team = TEAMS[rng.below(TEAMS.len() as u64) as usize];
            let framework = FRAMEWORKS[rng.below(FRAMEWORKS.len() as u64) as usize];
            let name = format!("{domain}-{kind}-{id}");
            let description = format!(
                "{} {kind} for the {team} team. Trained on {domain} data with {framework}; \
                 owned by {team}, reviewed quarterly.",
                capitalize(domain)
            );
            let updated = now - rng.below(365 * 86_400_000) as i64;
            let count = 1 + rng.below(size.versions_per_model * 2 - 1);
            models.push(vec![
                Value::Int(id),
                Value::Text(name.clone()),
                Value::Text(description),
                Value::Text(team.into()),
                Value::Text("accuracy".into()),
                Value::Text(SEED_ACTOR.into()),
                Value::Int(updated - 86_400_000),
                Value::Int(updated),
                Value::Int(count as i64),
            ]);
            tags.push(vec![
                Value::Int(id),
                Value::Text("domain".into()),
                Value::Text(domain.into()),
            ]);
            let tier = ["critical", "standard", "experimental"][rng.below(3) as usize];
            tags.push(vec![
                Value::Int(id),
                Value::Text("tier".into()),
                Value::Text(tier.into()),
            ]);
            events.push(SystemEvent {
                action: "model.create",
                target_type: "model",
                target_id: name.clone(),
                details: json!({ "team": team, "tags": { "domain": domain, "tier": tier },
                                 "seeded": true }),
            });
            let production = rng.below(10) < 3;
            let (mut major, mut minor, mut patch) = (1u64, 0u64, 0u64);
            for seq in 1..=count {
                let version = SemVer::new(major, minor, patch);
                let stage = if seq == count && production {
                    Stage::Production
                } else if seq == count && rng.below(5) == 0 {
                    Stage::Staging
                } else if seq + 3 < count && rng.below(4) == 0 {
                    Stage::Archived
                } else {
                    Stage::Experimental
                };
                let vid = next_version;
                next_version += 1;
                let accuracy = 0.6 + 0.35 * rng.unit();
                let created = updated - (count - seq) as i64 * 3_600_000;
                let lineage = Lineage {
                    commit_sha: Some(format!("{:040x}", rng.next() as u128 * 0x1_0000_0001)),
                    framework: Some(framework.into()),
                    dataset_name: Some(format!("{domain}-events")),
                    ..Lineage::default()
                };
                let version_metrics: BTreeMap<String, f64> = [
                    ("accuracy", accuracy),
                    ("auc", (accuracy + 0.05).min(1.0)),
                    ("val_loss", 1.0 - accuracy),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                let digest =
                    content::of_new_version(&lineage, &BTreeMap::new(), &version_metrics, &[])
                        .to_string();
                let target = format!("{name}@{version}");
                events.push(SystemEvent {
                    action: "version.register",
                    target_type: "version",
                    target_id: target.clone(),
                    details: json!({ "seq": seq, "status": "ready",
                                     "commit_sha": lineage.commit_sha,
                                     "content_digest": digest, "seeded": true }),
                });
                // The path the workflow would have taken to `stage`.
                let path: &[(Stage, Stage)] = match stage {
                    Stage::Experimental => &[],
                    Stage::Staging => &[(Stage::Experimental, Stage::Staging)],
                    Stage::Production => &[
                        (Stage::Experimental, Stage::Staging),
                        (Stage::Staging, Stage::Production),
                    ],
                    Stage::Archived => &[(Stage::Experimental, Stage::Archived)],
                };
                for (step, (from, to)) in path.iter().enumerate() {
                    let at = created + (step as i64 + 1) * 600_000;
                    history.push(vec![
                        Value::Int(vid),
                        Value::Text(from.as_str().into()),
                        Value::Text(to.as_str().into()),
                        Value::Text(SEED_ACTOR.into()),
                        Value::Text(SEED_REASON.into()),
                        Value::Int(at),
                    ]);
                    events.push(SystemEvent {
                        action: "stage.change",
                        target_type: "version",
                        target_id: target.clone(),
                        details: json!({ "from": from, "to": to, "request_id": null,
                                         "reason": SEED_REASON, "changed_at": at,
                                         "seeded": true }),
                    });
                }
                versions.push(vec![
                    Value::Int(vid),
                    Value::Int(id),
                    Value::Int(seq as i64),
                    Value::Text(version.to_string()),
                    Value::Text(version.identity_key()),
                    Value::Text(version.sort_key()),
                    Value::Text(stage.as_str().into()),
                    Value::Text("ready".into()),
                    Value::Text(String::new()),
                    Value::Text(SEED_ACTOR.into()),
                    Value::Int(created),
                    Value::Int(created),
                    Value::Text(lineage.commit_sha.clone().unwrap_or_default()),
                    Value::Text(framework.into()),
                    Value::Text(format!("{domain}-events")),
                    Value::Text(digest),
                ]);
                for (key, value) in version_metrics {
                    metrics.push(vec![Value::Int(vid), Value::Text(key), Value::Float(value)]);
                }
                match rng.below(10) {
                    0 => major += 1,
                    1..=3 => minor += 1,
                    _ => patch += 1,
                }
            }
        }
        let mut tx = db.begin().await?;
        insert_rows(
            &mut tx,
            "models",
            &[
                "id",
                "name",
                "description",
                "team",
                "headline_metric",
                "created_by",
                "created_at",
                "updated_at",
                "last_seq",
            ],
            models,
        )
        .await?;
        insert_rows(&mut tx, "model_tags", &["model_id", "key", "value"], tags).await?;
        insert_rows(
            &mut tx,
            "model_versions",
            &[
                "id",
                "model_id",
                "seq",
                "version",
                "version_key",
                "sort_key",
                "stage",
                "status",
                "description",
                "created_by",
                "created_at",
                "updated_at",
                "commit_sha",
                "framework",
                "dataset_name",
                "content_digest",
            ],
            versions,
        )
        .await?;
        insert_rows(
            &mut tx,
            "stage_history",
            &[
                "version_id",
                "from_stage",
                "to_stage",
                "changed_by",
                "reason",
                "changed_at",
            ],
            history,
        )
        .await?;
        insert_rows(
            &mut tx,
            "version_metrics",
            &["version_id", "key", "value"],
            metrics,
        )
        .await?;
        audit::record_many(&mut tx, events, now_ms()).await?;
        tx.commit().await?;
        done += batch;
        progress(done);
    }
    let last_model = first_model + size.models as i64 - 1;
    let mut tx = db.begin().await?;
    seeding::index_range(&mut tx, db.backend(), first_model, last_model).await?;
    seeding::advance_sequences(&mut tx, db.backend()).await?;
    let details = json!({ "models": size.models, "first_model_id": first_model, "last_model_id": last_model });
    let event = NewEvent {
        actor: None,
        origin: &Origin::default(),
        action: "catalog.seed",
        target_type: "catalog",
        target_id: "synthetic",
        details,
    };
    audit::record(&mut tx, event, now_ms()).await?;
    tx.commit().await?;
    seeding::analyze(db.pool(), db.backend()).await
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
