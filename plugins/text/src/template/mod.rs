//! `template`: rewrites each text message through a template.
//!
//! `{text}` stands for the incoming text; `{{` and `}}` for literal braces.

mod imp;

use hark_sdk::{prelude::*, ConfigIssue};

pub use imp::TemplateNode;

/// The `template` kind.
pub struct Template;

/// Settings of `template`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateSettings {
    /// The output text; `{text}` is replaced by the input text.
    pub template: String,
    /// Case change applied to the input text before substitution.
    pub case: String,
}

impl Default for TemplateSettings {
    fn default() -> Self {
        TemplateSettings {
            template: "{text}".into(),
            case: "keep".into(),
        }
    }
}

impl Settings for TemplateSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "template",
                "output text; {text} is replaced by the input text",
            ),
            Field::choice(
                "case",
                &["keep", "upper", "lower"],
                "case change applied to the input text",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !["keep", "upper", "lower"].contains(&self.case.as_str()) {
            return Err(
                ConfigIssue::field("case", format!("unknown case `{}`", self.case))
                    .with_hint("use \"keep\", \"upper\" or \"lower\""),
            );
        }
        imp::parse(&self.template).map(drop).map_err(|e| {
            ConfigIssue::field("template", e)
                .with_hint("write {text} for the input, {{ and }} for braces")
        })
    }
}

impl NodeKind for Template {
    type Settings = TemplateSettings;
    type Instance = TemplateNode;

    fn spec() -> KindSpec {
        KindSpec::transform("template", "Rewrites text through a template")
            .input(Port::text("text"))
            .output(Port::text("text"))
    }

    fn create(settings: TemplateSettings, _ctx: &Context) -> Result<TemplateNode, Error> {
        TemplateNode::new(settings)
    }
}
