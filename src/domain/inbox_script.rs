//! An inbox's script (the sandbox's, not Thredd's): how the capture inbox
//! answers, request by request, so that a test can make a receiver fail on
//! cue: statuses in turn, headers such as `Retry-After`, a delay, a closed
//! connection, a hang; or failures at a given rate from a seeded generator,
//! the same sequence for the same seed.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{whole_number, ErrorCode, Problem, Problems};

/// The most steps a script holds.
pub const MAX_STEPS: usize = 1000;
/// The longest body a step answers with, in characters.
pub const MAX_BODY: usize = 64 * 1024;
/// The longest `delayMs` a step may ask (a delay is further capped by
/// `sandbox.max_wait_ms`, as a hang is).
pub const MAX_DELAY_MS: u64 = 600_000;
/// The most headers a step sets.
pub const MAX_HEADERS: usize = 20;

/// What one request is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A status, with headers and a body, after a delay.
    Reply {
        status: u16,
        headers: BTreeMap<String, String>,
        body: String,
        delay_ms: u64,
    },
    /// The connection closes without an answer.
    Close,
    /// No answer until the caller gives up (bounded).
    Hang,
}

impl Answer {
    /// The plain answer: `200`, no headers, the inbox's usual body.
    pub fn plain() -> Self {
        Self::Reply {
            status: 200,
            headers: BTreeMap::new(),
            body: String::new(),
            delay_ms: 0,
        }
    }

    /// How a captured request records it: the status, or the fault's name.
    pub fn describe(&self) -> String {
        match self {
            Self::Reply { status, .. } => status.to_string(),
            Self::Close => "close".into(),
            Self::Hang => "hang".into(),
        }
    }
}

/// Failures at a rate, from a generator seeded for the same sequence each time.
#[derive(Debug, Clone, PartialEq)]
pub struct Random {
    pub fail_rate: f64,
    pub status: u16,
    pub seed: u64,
}

/// A script: steps in turn, then one answer for ever; or random failures.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    Steps { steps: Vec<Answer>, then: Answer },
    Random(Random),
}

/// A script as it runs: where it stands.
#[derive(Debug, Clone)]
pub struct Running {
    pub script: Script,
    /// The requests answered so far.
    pub answered: u64,
    rng: fastrand::Rng,
}

impl Running {
    pub fn new(script: Script) -> Self {
        let seed = match &script {
            Script::Random(r) => r.seed,
            Script::Steps { .. } => 0,
        };
        Self {
            script,
            answered: 0,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The next request's answer, and its step (1 for the first; `None` for
    /// `then` and random answers).
    pub fn answer_next(&mut self) -> (Answer, Option<usize>) {
        let n = usize::try_from(self.answered).unwrap_or(usize::MAX);
        self.answered += 1;
        match &self.script {
            Script::Steps { steps, then } => match steps.get(n) {
                Some(step) => (step.clone(), Some(n + 1)),
                None => (then.clone(), None),
            },
            Script::Random(r) => {
                if self.rng.f64() < r.fail_rate {
                    (
                        Answer::Reply {
                            status: r.status,
                            headers: BTreeMap::new(),
                            body: String::new(),
                            delay_ms: 0,
                        },
                        None,
                    )
                } else {
                    (Answer::plain(), None)
                }
            }
        }
    }
}

fn problem(field: &str, message: impl Into<String>) -> Problem {
    Problem::at(ErrorCode::InvalidRequestBody, field, message)
}

fn header_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn header_value_ok(value: &str) -> bool {
    value.chars().count() <= 1024
        && value
            .chars()
            .all(|c| c == '\t' || (c >= ' ' && c != '\u{7f}'))
}

/// Headers that frame the answer: the service sets them, a script may not.
const FRAMING: [&str; 7] = [
    "connection",
    "content-length",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// One step (or `then`) at `at`.
fn answer(value: &Value, at: &str, problems: &mut Problems) -> Option<Answer> {
    let Value::Object(fields) = value else {
        problems.push(problem(at, format!("{at} must be an object.")));
        return None;
    };
    let known = ["status", "headers", "body", "delayMs", "fault"];
    for key in fields.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(problem(
            &format!("{at}.{key}"),
            format!(
                "{at}.{key} is not a step's field; use status, headers, body, delayMs or fault."
            ),
        ));
    }
    if let Some(fault) = fields.get("fault") {
        let only = fields.len() == 1;
        return match (fault.as_str(), only) {
            (Some("close"), true) => Some(Answer::Close),
            (Some("hang"), true) => Some(Answer::Hang),
            (Some("close" | "hang"), false) => {
                problems.push(problem(at, format!("{at}: a fault takes no other field.")));
                None
            }
            _ => {
                problems.push(problem(
                    &format!("{at}.fault"),
                    format!("{at}.fault must be \"close\" or \"hang\"."),
                ));
                None
            }
        };
    }
    let status = match fields.get("status") {
        None => Some(200),
        Some(v) => match whole_number(v) {
            Some(s @ 200..=599) => Some(s as u16),
            _ => {
                problems.push(problem(
                    &format!("{at}.status"),
                    format!("{at}.status must be an HTTP status from 200 to 599."),
                ));
                None
            }
        },
    };
    let headers = header_map(fields.get("headers"), at, problems);
    let body = match fields.get("body") {
        None => Some(String::new()),
        Some(Value::String(body)) if body.chars().count() <= MAX_BODY => Some(body.clone()),
        Some(_) => {
            problems.push(problem(
                &format!("{at}.body"),
                format!("{at}.body must be text of at most {MAX_BODY} characters."),
            ));
            None
        }
    };
    let delay_ms = match fields.get("delayMs") {
        None => Some(0),
        Some(v) => match whole_number(v) {
            Some(ms) if ms <= MAX_DELAY_MS => Some(ms),
            _ => {
                problems.push(problem(
                    &format!("{at}.delayMs"),
                    format!("{at}.delayMs must be a whole number from 0 to {MAX_DELAY_MS}."),
                ));
                None
            }
        },
    };
    Some(Answer::Reply {
        status: status?,
        headers: headers?,
        body: body?,
        delay_ms: delay_ms?,
    })
}

fn header_map(
    value: Option<&Value>,
    at: &str,
    problems: &mut Problems,
) -> Option<BTreeMap<String, String>> {
    let field = format!("{at}.headers");
    let Some(value) = value else {
        return Some(BTreeMap::new());
    };
    let Value::Object(headers) = value else {
        problems.push(problem(
            &field,
            format!("{field} must be an object of names to values."),
        ));
        return None;
    };
    if headers.len() > MAX_HEADERS {
        problems.push(problem(
            &field,
            format!("{field} may set at most {MAX_HEADERS} headers."),
        ));
        return None;
    }
    let mut kept = BTreeMap::new();
    let mut ok = true;
    for (name, value) in headers {
        if FRAMING.contains(&name.to_ascii_lowercase().as_str()) {
            ok = false;
            problems.push(problem(
                &format!("{field}.{name}"),
                format!(
                    "{field}.{name}: the service frames the answer itself; {name} cannot be set."
                ),
            ));
            continue;
        }
        match value.as_str() {
            Some(v) if header_name_ok(name) && header_value_ok(v) => {
                kept.insert(name.clone(), v.to_owned());
            }
            _ => {
                ok = false;
                problems.push(problem(
                    &format!("{field}.{name}"),
                    format!(
                        "{field}.{name}: a header name is letters, digits and !#$%&'*+-.^_`|~ (at most 64), its value text without control characters (at most 1024)."
                    ),
                ));
            }
        }
    }
    ok.then_some(kept)
}

fn random(value: &Value, problems: &mut Problems) -> Option<Random> {
    let Value::Object(fields) = value else {
        problems.push(problem("random", "random must be an object."));
        return None;
    };
    for key in fields
        .keys()
        .filter(|k| !["failRate", "status", "seed"].contains(&k.as_str()))
    {
        problems.push(problem(
            &format!("random.{key}"),
            format!("random.{key} is not a field; use failRate, status and seed."),
        ));
    }
    let fail_rate = match fields.get("failRate").and_then(Value::as_f64) {
        Some(rate) if (0.0..=1.0).contains(&rate) => Some(rate),
        _ => {
            problems.push(problem(
                "random.failRate",
                "random.failRate must be a number from 0 to 1.",
            ));
            None
        }
    };
    let status = match fields.get("status").map(whole_number) {
        None => Some(503),
        Some(Some(s @ 200..=599)) => Some(s as u16),
        Some(_) => {
            problems.push(problem(
                "random.status",
                "random.status must be an HTTP status from 200 to 599.",
            ));
            None
        }
    };
    let seed = match fields.get("seed").map(Value::as_u64) {
        None => Some(0),
        Some(Some(seed)) => Some(seed),
        Some(None) => {
            problems.push(problem(
                "random.seed",
                "random.seed must be a whole number from 0.",
            ));
            None
        }
    };
    Some(Random {
        fail_rate: fail_rate?,
        status: status?,
        seed: seed?,
    })
}

impl Answer {
    fn to_json(&self) -> Value {
        match self {
            Self::Reply {
                status,
                headers,
                body,
                delay_ms,
            } => json!({"status": status, "headers": headers, "body": body, "delayMs": delay_ms}),
            Self::Close => json!({"fault": "close"}),
            Self::Hang => json!({"fault": "hang"}),
        }
    }
}

impl Script {
    /// The script in its request's shape, every default filled in.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Steps { steps, then } => json!({
                "steps": steps.iter().map(Answer::to_json).collect::<Vec<_>>(),
                "then": then.to_json(),
            }),
            Self::Random(r) => {
                json!({"random": {"failRate": r.fail_rate, "status": r.status, "seed": r.seed}})
            }
        }
    }

    /// A script from its request body: `{"steps": [...], "then": {...}}` or
    /// `{"random": {...}}`. Every problem is reported, each at its field.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::default();
        for key in body
            .keys()
            .filter(|k| !["steps", "then", "random"].contains(&k.as_str()))
        {
            problems.push(problem(
                key,
                format!("{key} is not a field of a script; use steps and then, or random."),
            ));
        }
        let script = match (body.get("random"), body.get("steps"), body.get("then")) {
            (Some(r), None, None) => random(r, &mut problems).map(Script::Random),
            (Some(_), _, _) => {
                problems.push(problem(
                    "random",
                    "random goes alone, without steps or then.",
                ));
                None
            }
            (None, steps, then) => {
                let steps = match steps {
                    None => Some(Vec::new()),
                    Some(Value::Array(steps)) if steps.len() <= MAX_STEPS => {
                        let parsed: Vec<Option<Answer>> = steps
                            .iter()
                            .enumerate()
                            .map(|(i, s)| answer(s, &format!("steps[{i}]"), &mut problems))
                            .collect();
                        parsed.into_iter().collect()
                    }
                    Some(_) => {
                        problems.push(problem(
                            "steps",
                            format!("steps must be an array of at most {MAX_STEPS} steps."),
                        ));
                        None
                    }
                };
                let then = match then {
                    None => Some(Answer::plain()),
                    Some(then) => answer(then, "then", &mut problems),
                };
                match (steps, then) {
                    (Some(steps), Some(then)) => Some(Script::Steps { steps, then }),
                    _ => None,
                }
            }
        };
        match script {
            Some(script) if problems.is_empty() => Ok(script),
            _ => Err(problems.into_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Script, Vec<Problem>> {
        Script::parse(body.as_object().expect("object"))
    }

    #[test]
    fn steps_in_turn_then_the_last_answer_for_ever() {
        let script = parse(json!({
            "steps": [{"status": 500}, {"status": 503, "headers": {"Retry-After": "2"}}, {"fault": "close"}],
            "then": {"status": 204}
        }))
        .expect("valid");
        let mut running = Running::new(script);
        let answers: Vec<(String, Option<usize>)> = (0..5)
            .map(|_| {
                let (a, step) = running.answer_next();
                (a.describe(), step)
            })
            .collect();
        assert_eq!(
            answers,
            [
                ("500".into(), Some(1)),
                ("503".into(), Some(2)),
                ("close".into(), Some(3)),
                ("204".into(), None),
                ("204".into(), None)
            ]
        );
    }

    #[test]
    fn a_seed_gives_the_same_sequence() {
        let script =
            parse(json!({"random": {"failRate": 0.5, "status": 503, "seed": 7}})).expect("valid");
        let run = |script: &Script| -> Vec<String> {
            let mut running = Running::new(script.clone());
            (0..40)
                .map(|_| running.answer_next().0.describe())
                .collect()
        };
        let first = run(&script);
        assert_eq!(first, run(&script));
        assert!(first.iter().any(|a| a == "503") && first.iter().any(|a| a == "200"));
        let other = parse(json!({"random": {"failRate": 0.5, "seed": 8}})).expect("valid");
        assert_ne!(first, run(&other), "another seed, another sequence");
    }

    #[test]
    fn every_problem_is_named_at_its_field() {
        let problems = parse(json!({
            "steps": [{"status": 99}, {"fault": "explode"}, {"headers": {"Bad Name": "x"}}, {"delayMs": -1}],
            "then": {"colour": "red"},
            "extra": 1
        }))
        .expect_err("invalid");
        let fields: Vec<&str> = problems.iter().filter_map(|p| p.field.as_deref()).collect();
        for field in [
            "steps[0].status",
            "steps[1].fault",
            "steps[2].headers.Bad Name",
            "steps[3].delayMs",
            "then.colour",
            "extra",
        ] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
        assert!(parse(json!({"random": {"failRate": 2}})).is_err());
        assert!(parse(json!({"random": {"failRate": 0.1}, "steps": []})).is_err());
        assert!(parse(json!({"steps": [{"fault": "close", "status": 500}]})).is_err());
        assert!(
            parse(json!({"steps": [{"headers": {"Content-Length": "5"}}]})).is_err(),
            "framing is the service's"
        );
    }
}
