//! The JSON Schema of the protocol (`schemas/protocol.schema.json`, generated).

use schemars::JsonSchema;

use super::{ClientMsg, PROTOCOL_VERSION, ServerMsg};

/// Both directions, for the generated schema.
#[derive(JsonSchema)]
#[schemars(title = "cohort participant protocol")]
#[allow(dead_code)]
pub struct Protocol {
    /// Messages the client sends.
    pub client: ClientMsg,
    /// Messages the host sends.
    pub server: ServerMsg,
}

/// The JSON Schema of every protocol message.
pub fn protocol_schema() -> serde_json::Value {
    let settings = schemars::generate::SchemaSettings::draft07();
    let mut value = settings.into_generator().root_schema_for::<Protocol>().to_value();
    value["$id"] = serde_json::Value::from("https://cohort.example/schemas/protocol.schema.json");
    value["description"] = serde_json::Value::from(format!(
        "cohort WebSocket protocol version {PROTOCOL_VERSION}: JSON text messages tagged by `type`. See docs/protocol.md."
    ));
    value
}
