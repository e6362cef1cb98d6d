//! The skills manifest (`context/skills.json`): what the support agent does, where the code
//! is, and which of this server's tools expose it. Built into the binary so the server
//! serves it wherever it runs, without the repository beside it.

pub const MANIFEST: &str = include_str!("../../../context/skills.json");
pub const MANIFEST_URI: &str = "skills://manifest";

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use serde::Deserialize;

    use super::MANIFEST;
    use crate::server::SupportTools;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Manifest {
        #[serde(rename = "$comment")]
        _comment: String,
        skills: Vec<Skill>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Skill {
        name: String,
        description: String,
        inputs: Vec<String>,
        outputs: Vec<String>,
        when: String,
        code: Vec<String>,
        mcp_tools: Vec<String>,
    }

    fn manifest() -> Manifest {
        serde_json::from_str(MANIFEST).expect("context/skills.json matches the manifest's shape")
    }

    #[test]
    fn every_skill_is_described_and_named_once() {
        let skills = manifest().skills;
        let names: BTreeSet<&str> = skills.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), skills.len(), "skill names are unique");
        for skill in &skills {
            for (field, empty) in [
                ("description", skill.description.trim().is_empty()),
                ("when", skill.when.trim().is_empty()),
                ("inputs", skill.inputs.is_empty()),
                ("outputs", skill.outputs.is_empty()),
                ("code", skill.code.is_empty()),
            ] {
                assert!(!empty, "skill {} has no {field}", skill.name);
            }
        }
    }

    #[test]
    fn every_code_path_the_manifest_names_exists_in_the_repository() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for skill in manifest().skills {
            for path in &skill.code {
                assert!(
                    !path.starts_with('/') && !path.split('/').any(|part| part == ".."),
                    "skill {}: {path} must be relative to the repository root",
                    skill.name
                );
                assert!(root.join(path).exists(), "skill {}: {path} does not exist", skill.name);
            }
        }
    }

    #[test]
    fn every_tool_the_manifest_names_is_a_tool_of_this_server() {
        let tools: BTreeSet<String> = SupportTools::tool_router()
            .list_all()
            .into_iter()
            .map(|tool| tool.name.into_owned())
            .collect();
        let mut named = BTreeSet::new();
        for skill in manifest().skills {
            for tool in skill.mcp_tools {
                assert!(
                    tools.contains(&tool),
                    "skill {}: no tool {tool} (tools: {tools:?})",
                    skill.name
                );
                named.insert(tool);
            }
        }
        assert!(!named.is_empty(), "the manifest names the tools that expose the skills");
    }
}
