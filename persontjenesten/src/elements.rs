//! `_elements` (FHIR R4 §3.1.1.5.9): only the named top-level elements, with the elements
//! a resource cannot be without (`resourceType`, `id`, `meta`, and `RelatedPerson.patient`,
//! which is 1..1), marked `SUBSETTED` in `meta.tag` when something was left out.
//!
//! Persontjenesten expects `_elements` on every read and search for data minimisation and
//! returns only the identifier without it (MasterPersonIndexR4, "The server expects
//! _elements").

use serde_json::{Value, json};

/// `meta.tag` of a subsetted resource (FHIR R4 §3.1.1.5.9).
pub const SUBSETTED_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

/// Keeps in `resource` what `elements` names (only `identifier` when `None`).
pub fn subset(resource: &mut Value, elements: Option<&[String]>) {
    let Some(object) = resource.as_object_mut() else {
        return;
    };
    let always = ["resourceType", "id", "meta"];
    let related = object.get("resourceType").and_then(Value::as_str) == Some("RelatedPerson");
    let keep = |key: &str| {
        always.contains(&key)
            || (related && key == "patient")
            || match elements {
                Some(list) => list.iter().any(|e| e == key),
                None => key == "identifier",
            }
    };
    let before = object.len();
    object.retain(|key, _| keep(key));
    if object.len() < before {
        let meta = object.entry("meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            let tags = meta.entry("tag").or_insert_with(|| json!([]));
            if let Some(tags) = tags.as_array_mut() {
                tags.push(json!({
                    "system": SUBSETTED_SYSTEM,
                    "code": "SUBSETTED",
                    "display": "Resource encoded in summary mode",
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_is_named_and_marks_the_rest_missing() {
        let full = json!({
            "resourceType": "Person", "id": "x", "meta": {"versionId": "1"},
            "identifier": [{"value": "1"}], "name": [{"family": "F"}], "address": [{}]
        });
        let mut only_id = full.clone();
        subset(&mut only_id, None);
        assert_eq!(
            only_id.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["id", "identifier", "meta", "resourceType"]
        );
        assert_eq!(only_id["meta"]["tag"][0]["code"], "SUBSETTED");
        let mut named = full.clone();
        subset(&mut named, Some(&["name".to_owned()]));
        assert!(named.get("name").is_some() && named.get("identifier").is_none());
        let mut all = full.clone();
        let every: Vec<String> = ["identifier", "name", "address"].map(String::from).to_vec();
        subset(&mut all, Some(&every));
        assert_eq!(all, full, "nothing left out, so no tag");
        let mut rel =
            json!({"resourceType": "RelatedPerson", "id": "r", "patient": {}, "relationship": []});
        subset(&mut rel, Some(&[]));
        assert!(rel.get("patient").is_some() && rel.get("relationship").is_none());
    }
}
