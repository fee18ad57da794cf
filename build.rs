//! Turns the options table, `lib/options.json` (docs/ARCHITECTURE.md "Options"), into Rust:
//! a const per default and the kind and range of each numeric option, included by
//! `src/option_table.rs` as `option_table`.

use std::fmt::Write as _;

fn const_name(path: &str) -> String {
    let mut out = String::new();
    for (i, c) in path.chars().enumerate() {
        if c == '.' {
            out.push('_');
        } else if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
            out.push(c);
        } else {
            out.push(c.to_ascii_uppercase());
        }
    }
    out
}

fn leaf(out: &mut String, fields: &mut String, path: &str, spec: &serde_json::Map<String, serde_json::Value>) {
    let name = const_name(path);
    let kind = spec.get("kind").and_then(|k| k.as_str());
    let default = spec.get("default");
    match (kind, default) {
        (Some(kind), _) => {
            let (variant, ty, max) = match kind {
                "count" => ("Count", "u32", 4_294_967_295.0),
                "attempts" => ("Attempts", "Option<u32>", 4_294_967_295.0),
                "ms" => ("Ms", "u64", 9_007_199_254_740_991.0),
                "number" => ("Number", "f64", 9_007_199_254_740_991.0),
                other => panic!("lib/options.json: {path}: unknown kind {other}"),
            };
            let min = spec.get("min").and_then(|v| v.as_f64()).unwrap_or(0.0);
            let max = spec.get("max").and_then(|v| v.as_f64()).unwrap_or(max);
            writeln!(fields, "    Field {{ path: {path:?}, kind: Kind::{variant}, min: {min:?}, max: {max:?} }},")
                .unwrap();
            if spec.contains_key("max") {
                writeln!(out, "/// The largest `{path}`.\npub const {name}_MAX: u64 = {};", max as u64).unwrap();
            }
            if let Some(d) = default {
                let value = match (kind, d) {
                    ("attempts", serde_json::Value::String(s)) if s == "Infinity" => "None".to_owned(),
                    ("attempts", d) => format!("Some({d})"),
                    ("number", d) => format!("{:?}", d.as_f64().expect("a number")),
                    (_, d) => d.as_u64().unwrap_or_else(|| panic!("{path}: a whole number")).to_string(),
                };
                writeln!(out, "/// `{path}`\npub const {name}: {ty} = {value};").unwrap();
            }
        }
        (None, Some(serde_json::Value::String(s))) => {
            writeln!(out, "/// `{path}`\npub const {name}: &str = {s:?};").unwrap()
        }
        (None, Some(serde_json::Value::Bool(b))) => {
            writeln!(out, "/// `{path}`\npub const {name}: bool = {b};").unwrap()
        }
        _ => panic!("lib/options.json: {path}: a leaf needs a kind or a string or boolean default"),
    }
    if let Some(values) = spec.get("oneOf").and_then(|v| v.as_array()) {
        let list: Vec<String> = values.iter().map(|v| format!("{:?}", v.as_str().expect("strings"))).collect();
        writeln!(
            out,
            "/// The values of `{path}`; the first is the default.\npub const {name}_VALUES: [&str; {}] = [{}];",
            list.len(),
            list.join(", ")
        )
        .unwrap();
    }
}

fn walk(out: &mut String, fields: &mut String, prefix: &str, node: &serde_json::Map<String, serde_json::Value>) {
    for (key, value) in node {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let map = value.as_object().unwrap_or_else(|| panic!("lib/options.json: {path}: an object"));
        if map.contains_key("default") || map.contains_key("kind") {
            leaf(out, fields, &path, map);
        } else {
            walk(out, fields, &path, map);
        }
    }
}

fn main() {
    #[cfg(feature = "node")]
    napi_build::setup();
    let path = "lib/options.json";
    println!("cargo:rerun-if-changed={path}");
    let text = std::fs::read_to_string(path).expect("lib/options.json");
    let table: serde_json::Value = serde_json::from_str(&text).expect("lib/options.json is JSON");
    let mut out = String::new();
    let mut fields = String::new();
    walk(&mut out, &mut fields, "", table["options"].as_object().expect("options"));
    for (key, value) in table["fixed"].as_object().expect("fixed") {
        let (ty, number) = match value.as_u64() {
            Some(n) => ("u64", n.to_string()),
            None => ("f64", format!("{:?}", value.as_f64().expect("fixed values are numbers"))),
        };
        writeln!(out, "/// `fixed.{key}`\npub const {}: {ty} = {number};", const_name(key)).unwrap();
    }
    out.push_str("\n/// Every numeric option: its path, kind and range.\npub const FIELDS: &[Field] = &[\n");
    out.push_str(&fields);
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("options_table.rs");
    std::fs::write(dest, out).expect("write options_table.rs");
}
