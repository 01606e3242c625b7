use std::path::PathBuf;

/// Why one output could not be parsed (or a template source not be read).
/// Each message says what was parsed with what, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// No index row matches the platform and command.
    #[error(
        "no template for platform {platform}, command `{command}` in {index}; pass --templates DIR with one, or --parse FILE.textfsm"
    )]
    NoTemplate {
        /// Which index was searched.
        index: String,
        /// ntc-templates platform name.
        platform: String,
        /// The command as sent.
        command: String,
    },
    /// ntc-templates has a template for this, but it is not shipped.
    #[error(
        "ntc-templates parses platform {platform}, command `{command}` with {template}, which fanout does not ship; pass --templates DIR (an ntc-templates checkout's ntc_templates/templates folder)"
    )]
    NotShipped {
        /// ntc-templates platform name.
        platform: String,
        /// The command as sent.
        command: String,
        /// The template(s) the index names.
        template: String,
    },
    /// A template is not valid TextFSM.
    #[error("template {template} is invalid: {message}; fix the template")]
    Template {
        /// The template's file.
        template: String,
        /// What is wrong, with its line where known.
        message: String,
    },
    /// An index file is not valid.
    #[error("{path} is not a valid template index: {message}")]
    Index {
        /// The index file.
        path: String,
        /// What is wrong, with its line.
        message: String,
    },
    /// The template's `Error` rule fired on this output.
    #[error("template {template} rejected the output: {message}")]
    Rule {
        /// The template.
        template: String,
        /// The rule and its message.
        message: String,
    },
    /// The template ran but recognised nothing in the output.
    #[error(
        "template {template} found no record in the output of `{command}`: the output is not what the template parses (an error message, another command's output, another platform?)"
    )]
    NoRecords {
        /// The template.
        template: String,
        /// The command.
        command: String,
    },
    /// A template file or index could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}
