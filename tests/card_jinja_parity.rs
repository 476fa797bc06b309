//! Jinja2 parity: every template of the corpus below is rendered by hfkit
//! (`ModelCard::from_template`) and by Python's Jinja2 3.1.6 (`jinja2.Template(src).render(ctx)`,
//! as `huggingface_hub` renders cards) with the very same context, and the outputs must be equal
//! byte for byte. The corpus: hfkit's default model and dataset templates with minimal, full and
//! generated data, and user templates written with Python-Jinja idioms. The few constructs that
//! differ are listed, each asserted on both sides, in `tests/card_jinja_parity.md`.

mod support;

use hfkit::card::{
    DEFAULT_DATASET_CARD_TEMPLATE, DEFAULT_MODEL_CARD_TEMPLATE, EvalResult, ModelCard,
    ModelCardData,
};
use serde_json::{Map, Value, json};
use support::python::run_python;

/// One rendering: a template, card data and caller variables.
struct Case {
    name: String,
    template: String,
    data: ModelCardData,
    vars: Value,
}

/// The context `ModelCard::from_template` gives a template (spec §2.1), rebuilt for Python:
/// data keys, `hfkit_version`, `eval_results`, the caller's variables, then `card_data`.
fn context(case: &Case) -> Value {
    let mut ctx: Map<String, Value> = case
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ctx.insert("hfkit_version".into(), json!(env!("CARGO_PKG_VERSION")));
    ctx.insert(
        "eval_results".into(),
        serde_json::to_value(case.data.eval_results()).unwrap(),
    );
    if let Value::Object(vars) = &case.vars {
        ctx.extend(vars.clone());
    }
    let yaml = ModelCard::new(case.data.clone(), "").metadata_yaml();
    ctx.insert("card_data".into(), Value::String(yaml));
    Value::Object(ctx)
}

fn hfkit_render(case: &Case) -> Result<String, String> {
    ModelCard::from_template(case.data.clone(), Some(&case.template), case.vars.clone())
        .map(|c| c.text())
        .map_err(|e| e.to_string())
}

const PY_RENDER: &str = r#"
import json, os, sys
import jinja2
cases = json.load(open(os.environ["CASES_FILE"], encoding="utf-8"))
out = []
for c in cases:
    try:
        out.append({"ok": jinja2.Template(c["template"]).render(c["ctx"])})
    except Exception as e:
        out.append({"err": type(e).__name__ + ": " + str(e)})
sys.stdout.write(json.dumps(out))
"#;

/// Python's renderings of `cases`, in order: `Ok(text)` or `Err(message)`.
fn python_render(cases: &[Case]) -> Vec<Result<String, String>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    let list: Vec<Value> = cases
        .iter()
        .map(|c| json!({"template": c.template, "ctx": context(c)}))
        .collect();
    std::fs::write(&file, serde_json::to_vec(&list).unwrap()).unwrap();
    let out = run_python(PY_RENDER, &[("CASES_FILE", file.to_str().unwrap())]);
    let answers: Vec<Value> = serde_json::from_str(&out).unwrap();
    answers
        .into_iter()
        .map(|a| match a.get("ok") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(a["err"].as_str().unwrap_or_default().to_owned()),
        })
        .collect()
}

fn result(task: &str, dataset: &str, metric: &str, value: Value) -> EvalResult {
    EvalResult::new(task, dataset, dataset.to_uppercase(), metric, value)
}

fn full_data() -> ModelCardData {
    let mut data = ModelCardData::new();
    data.set_license(Some("apache-2.0"));
    data.set_library_name(Some("candle"));
    data.set_pipeline_tag(Some("image-classification"));
    data.set_tags(["vision", "hfkit", "ünïcødé"]);
    data.set_base_model(["google/vit-base-patch16-224", "org/other"]);
    let mut a = result("image-classification", "beans", "accuracy", json!(0.95));
    a.dataset_split = Some("test".into());
    a.task_name = Some("Image Classification".into());
    let mut f1 = a.clone();
    f1.metric_type = "f1".into();
    f1.metric_name = Some("F1".into());
    f1.metric_value = json!("0.93 ± 0.01");
    let b = result("image-classification", "cifar10", "top5", json!(12));
    data.set_eval_results("vit-beans", vec![a, f1, b]).unwrap();
    data
}

fn full_vars() -> Value {
    json!({
        "model_id": "acme/vit-beans",
        "model_summary": "A ViT fine-tuned on beans.",
        "model_description": "Classifies bean leaf diseases.\n\nTwo paragraphs.",
        "developers": "The hfkit authors",
        "model_type": "Vision transformer",
        "repo_url": "https://github.com/example/vit-beans",
        "docs_url": "https://docs.example.com",
        "paper_url": "https://arxiv.org/abs/0000.00000",
        "model_type_name": "VitBeans",
        "repo_id": "acme/vit-beans",
        "intended_uses": "Leaf disease triage.",
        "limitations": "Only beans.",
        "training_data": "The beans dataset.",
        "training_procedure": "Fine-tuning, 3 epochs.",
        "hyperparameters": {"learning_rate": 0.0002, "epochs": 3, "optimizer": "AdamW",
                            "warmup": "10%"},
        "evaluation": "Accuracy on the test split.",
        "citation_bibtex": "@misc{beans,\n  title={Beans}\n}",
    })
}

/// hfkit's default templates with minimal, full and partial data.
fn default_template_cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            name: "default/minimal".into(),
            template: DEFAULT_MODEL_CARD_TEMPLATE.into(),
            data: ModelCardData::new(),
            vars: json!({}),
        },
        Case {
            name: "default/full".into(),
            template: DEFAULT_MODEL_CARD_TEMPLATE.into(),
            data: full_data(),
            vars: full_vars(),
        },
        Case {
            name: "default/usage-given".into(),
            template: DEFAULT_MODEL_CARD_TEMPLATE.into(),
            data: ModelCardData::new(),
            vars: json!({"usage": "Call `run()`.", "limitations": "Some.",
                         "training_procedure": "Short."}),
        },
        Case {
            name: "dataset-default/minimal".into(),
            template: DEFAULT_DATASET_CARD_TEMPLATE.into(),
            data: ModelCardData::new(),
            vars: json!({}),
        },
        Case {
            name: "dataset-default/full".into(),
            template: DEFAULT_DATASET_CARD_TEMPLATE.into(),
            data: ModelCardData::new(),
            vars: json!({"pretty_name": "Beans", "dataset_summary": "Leaves.",
                         "dataset_description": "Photos.", "structure": "train/test",
                         "citation_bibtex": "@misc{x}"}),
        },
    ];
    // Generated data: tags, unicode, eval results, hyperparameters, optional sections.
    let mut rng = fastrand::Rng::with_seed(7);
    let words = [
        "vision",
        "nlp",
        "Ünïcode",
        "日本語",
        "emoji 🚀",
        "a-b_c",
        "x.y",
        "with space",
    ];
    let values = [
        json!(0.5),
        json!(0.875),
        json!(12),
        json!("0.71 ± 0.02"),
        json!(100),
    ];
    for i in 0..40 {
        let mut data = ModelCardData::new();
        if rng.bool() {
            data.set_license(Some(["mit", "apache-2.0", "other"][rng.usize(..3)]));
        }
        if rng.bool() {
            data.set_library_name(Some(["candle", "transformers", "hfkit"][rng.usize(..3)]));
        }
        let tags: Vec<&str> = (0..rng.usize(..4))
            .map(|_| words[rng.usize(..words.len())])
            .collect();
        if !tags.is_empty() {
            data.set_tags(tags);
        }
        if rng.bool() {
            data.set_base_model([words[rng.usize(..words.len())]]);
        }
        let n = rng.usize(..4);
        if n > 0 {
            let results = (0..n)
                .map(|j| {
                    let mut r = result(
                        "text-classification",
                        ["imdb", "sst2"][rng.usize(..2)],
                        &format!("metric{j}"),
                        values[rng.usize(..values.len())].clone(),
                    );
                    if rng.bool() {
                        r.metric_name = Some(words[rng.usize(..words.len())].to_owned());
                    }
                    r
                })
                .collect();
            data.set_eval_results("m", results).unwrap();
        }
        let mut vars = Map::new();
        for key in [
            "model_id",
            "model_summary",
            "developers",
            "repo_url",
            "usage",
            "intended_uses",
            "training_data",
            "evaluation",
            "citation_bibtex",
        ] {
            if rng.u8(..3) == 0 {
                vars.insert(key.into(), json!(words[rng.usize(..words.len())]));
            }
        }
        if rng.bool() {
            let hp: Map<String, Value> = (0..rng.usize(1..4))
                .map(|k| (format!("p{k}"), values[rng.usize(..values.len())].clone()))
                .collect();
            vars.insert("hyperparameters".into(), Value::Object(hp));
        }
        cases.push(Case {
            name: format!("default/generated-{i}"),
            template: DEFAULT_MODEL_CARD_TEMPLATE.into(),
            data,
            vars: Value::Object(vars),
        });
    }
    cases
}

/// User templates written for Python's Jinja2.
fn user_template_cases() -> Vec<Case> {
    let vars = json!({
        "name": "  my model  ",
        "params": {"epochs": 3, "lr": 0.001, "note": "<x> & 'y'"},
        "items": ["b", "a", "c", "a"],
        "people": [{"name": "Ann", "age": 31}, {"name": "Bob", "age": 27}],
        "empty": "",
        "csv": "x, y ,z",
        "n": 7,
        "ratio": 0.25,
        "html": "<p>Hello <b>world</b></p>",
        "size": 123456789,
        "long": "The quick brown fox jumps over the lazy dog",
    });
    let templates: &[(&str, &str)] = &[
        (
            "items-loop",
            "{% for key, value in params.items() %}{{ loop.index }}. {{ key }} = {{ value }}{% if not loop.last %}\n{% endif %}{% endfor %}",
        ),
        (
            "keys-values-get",
            "{{ params.keys() | list | join(',') }}|{{ params.values() | list | length }}|{{ params.get('lr') }}|{{ params.get('nope', 'dflt') }}|{{ 'lr' in params }}",
        ),
        (
            "tojson",
            "{{ items | tojson }}\n{{ params.note | tojson }}\n{{ name | tojson }}\n{{ people | map(attribute='name') | list | tojson }}",
        ),
        (
            "tojson-sorted-mapping",
            "{{ {'a': 1, 'b': [true, none]} | tojson }}",
        ),
        (
            "default-true",
            "[{{ empty | default('fallback', true) }}][{{ empty | default('kept') }}][{{ missing | default('undef') }}][{{ missing }}]",
        ),
        (
            "whitespace-control",
            "start\n{%- for i in items %}\n  {{ i }}\n{%- endfor %}\nend\n{% if n > 5 -%}\n   big\n{%- endif %}\n\ntail\n",
        ),
        (
            "loop-vars-and-else",
            "{% for p in people %}{{ loop.index0 }}/{{ loop.length }}{{ ',' if not loop.last }}{% endfor %}|{% for x in [] %}x{% else %}none{% endfor %}|{% for i in range(3) %}{{ i }}{% endfor %}",
        ),
        (
            "string-methods",
            "{{ name.strip() }}|{{ name.strip().upper() }}|{{ name.lower() }}|{{ 'hfkit rocks'.title() }}|{{ csv.split(',') | map('trim') | join('/') }}|{{ 'a-b-c'.replace('-', '+') }}|{{ 'hfkit'.startswith('hf') }}|{{ 'hfkit'.endswith('x') }}|{{ '{} and {}'.format('a', 'b') }}",
        ),
        (
            "filters",
            "{{ items | sort | join }}|{{ items | unique | list | join }}|{{ items | first }}{{ items | last }}|{{ items | length }}|{{ 'hello' | upper }}|{{ 'HELLO' | lower }}|{{ 'hello world' | title }}|{{ 'hello' | capitalize }}|{{ '  x  ' | trim }}|{{ people | map(attribute='name') | join(', ') }}|{{ people | selectattr('age', 'gt', 30) | map(attribute='name') | list }}|{{ params | dictsort | first }}|{{ [1, 2, 3] | sum }}|{{ [3, 1] | max }}|{{ ratio | round(1) }}|{{ n | float }}|{{ '42' | int + 1 }}|{{ -3 | abs }}|{{ items | reverse | join }}",
        ),
        (
            "text-filters",
            "{{ long | truncate(length=20) }}|{{ html | striptags }}|{{ size | filesizeformat }}|{{ long | wordcount }}|{{ 'a\nb' | indent(2) }}|{{ '%s-%d' | format('x', 3) }}",
        ),
        (
            "tests",
            "{{ name is defined }}{{ missing is defined }}{{ missing is undefined }}{{ name is string }}{{ params is mapping }}{{ n is number }}{{ items is iterable }}{{ n is odd }}{{ n is divisibleby(7) }}",
        ),
        (
            "set-macro-namespace",
            "{% set total = namespace(v=0) %}{% for p in people %}{% set total.v = total.v + p.age %}{% endfor %}{{ total.v }}|{% macro row(k, v='-') %}<{{ k }}:{{ v }}>{% endmacro %}{{ row('a') }}{{ row('b', 2) }}|{% set x = 'y' ~ n %}{{ x }}",
        ),
        (
            "expressions",
            "{{ n // 2 }} {{ n % 3 }} {{ 2 ** 5 }} {{ n / 2 }} {{ 'ab' * 2 }} {{ items[1:3] | join }} {{ 'hfkit'[::-1] }} {{ [1, 2] + [3] }} {{ 'yes' if n > 3 else 'no' }} {{ n > 3 and not empty }}",
        ),
        (
            "raw-comments-escaping",
            "{# a comment #}{% raw %}{{ not rendered }}{% endraw %} {{ params.note }} {{ '<b>' }}",
        ),
        (
            "card-data-front-matter",
            "---\n{{ card_data }}\n---\n\n# {{ model_name | default('MyModelName', true) }}\n\n{{ name | trim }}\n",
        ),
        (
            "eval-results-table",
            "{% for r in eval_results %}| {{ r.task_type }} | {{ r.dataset_name }} | {{ r.metric_name | default(r.metric_type, true) }} | {{ r.metric_value }} |\n{% endfor %}",
        ),
        (
            "none-and-repr",
            "{{ none }}|{{ [none, true, 1.0, 2] }}|{{ params }}|{{ items }} {{ people[0] }}",
        ),
        (
            "floats",
            "{{ 1.0 }} {{ 3 / 1 }} {{ 0.1 + 0.2 }} {{ 1e-05 }} {{ 1e16 }} {{ ratio * 1e-3 }} {{ -2.5e-7 }}",
        ),
        ("tojson-indent", "{{ items | tojson(indent=2) }}"),
        ("undefined-attribute-fails", "{{ missing.attr }}"),
        ("syntax-error-fails", "{% for x in %}{% endfor %}"),
        ("trailing-newlines-dropped-once", "line\n\n"),
    ];
    templates
        .iter()
        .map(|(name, t)| Case {
            name: format!("user/{name}"),
            template: (*t).to_owned(),
            data: full_data(),
            vars: vars.clone(),
        })
        .collect()
}

#[test]
fn hfkit_renders_like_jinja2() {
    let mut cases = default_template_cases();
    cases.extend(user_template_cases());
    let python = python_render(&cases);
    assert_eq!(python.len(), cases.len());
    let mut failures = Vec::new();
    for (case, py) in cases.iter().zip(&python) {
        let ours = hfkit_render(case);
        match (&ours, py) {
            (Ok(a), Ok(b)) if a == b => {}
            // Both refuse the template (the messages are each engine's own).
            (Err(_), Err(_)) => {}
            _ => failures.push(format!(
                "{}:\n  hfkit:  {ours:?}\n  jinja2: {py:?}",
                case.name
            )),
        }
    }
    eprintln!(
        "Jinja2 parity corpus: {} templates, {} identical",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The constructs that differ, each asserted on both sides (see `tests/card_jinja_parity.md`):
/// `(name, template, hfkit's output or error excerpt, Jinja2's output or error excerpt)`.
const DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    (
        "tojson-mapping-order",
        "{{ people | tojson }}",
        r#"[{"name": "Ann", "age": 31}, {"name": "Bob", "age": 27}]"#,
        r#"[{"age": 31, "name": "Ann"}, {"age": 27, "name": "Bob"}]"#,
    ),
    (
        "percent-formatting",
        "{{ '%s!' % name }}",
        "ERR % operator",
        "  my model  !",
    ),
    (
        "positional-truncate",
        "{{ long | truncate(9, true) }}",
        "ERR too many arguments",
        "The qu...",
    ),
    (
        "in-place-append",
        "{% set l = [1] %}{{ l.append(2) }}{{ l }}",
        "ERR no method named append",
        "None[1, 2]",
    ),
    (
        "do-tag",
        "{% set l = [1] %}{% do l.append(2) %}{{ l }}",
        "ERR no method named append",
        "ERR unknown tag 'do'",
    ),
    (
        "loop-controls",
        "{% for i in items %}{% if i == 'c' %}{% break %}{% endif %}{{ i }}{% endfor %}",
        "ba",
        "ERR unknown tag 'break'",
    ),
    (
        "crlf-template-text",
        "a\r\nb{{ n }}\r\n",
        "a\r\nb7",
        "a\nb7",
    ),
    (
        "floats-inside-a-list",
        "{{ [1e-05, 1e16] }}",
        "[1e-5, 1e16]",
        "[1e-05, 1e+16]",
    ),
];

fn matches_expectation(got: &Result<String, String>, want: &str) -> bool {
    match (got, want.strip_prefix("ERR ")) {
        (Err(e), Some(excerpt)) => e.contains(excerpt),
        (Ok(text), None) => text == want,
        _ => false,
    }
}

#[test]
fn documented_differences_are_exactly_as_documented() {
    let cases: Vec<Case> = DIFFERENCES
        .iter()
        .map(|(name, t, _, _)| Case {
            name: (*name).to_owned(),
            template: (*t).to_owned(),
            data: full_data(),
            vars: user_template_cases()[0].vars.clone(),
        })
        .collect();
    let python = python_render(&cases);
    for ((case, py), (_, _, ours_want, py_want)) in cases.iter().zip(&python).zip(DIFFERENCES) {
        let ours = hfkit_render(case);
        assert!(
            matches_expectation(&ours, ours_want),
            "{}: hfkit gave {ours:?}",
            case.name
        );
        assert!(
            matches_expectation(py, py_want),
            "{}: Jinja2 gave {py:?}",
            case.name
        );
    }
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/card_jinja_parity.md"),
    )
    .unwrap();
    for (name, ..) in DIFFERENCES {
        assert!(
            doc.contains(&format!("`{name}`")),
            "{name} is not documented"
        );
    }
}
