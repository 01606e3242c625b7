use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use textfsm_core::{ListItem, Value};

/// One TextFSM record: the template's values, in the template's order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    fields: Vec<(String, Field)>,
}

/// A record's value: text (`""` when the value did not match) or, for a
/// `List` value, every match.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A single value.
    Text(String),
    /// A `List` value.
    List(Vec<Item>),
}

/// One element of a `List` value.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// The match.
    Text(String),
    /// Named groups of a list value's regex (`(?P<name>...)`).
    Groups(BTreeMap<String, String>),
}

impl Record {
    pub(crate) fn from_row(header: &[String], row: Vec<Value>) -> Self {
        let fields = header
            .iter()
            .cloned()
            .zip(row.into_iter().map(Field::from))
            .collect();
        Self { fields }
    }

    /// The value named `name` (exactly as in the template: `VERSION`).
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// The text of value `name`; `None` when absent or a list.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Field::Text(s) => Some(s),
            Field::List(_) => None,
        }
    }

    /// Every field, in template order.
    pub fn fields(&self) -> &[(String, Field)] {
        &self.fields
    }
}

impl From<Value> for Field {
    fn from(v: Value) -> Self {
        match v {
            Value::Empty => Field::Text(String::new()),
            Value::Single(s) => Field::Text(s),
            Value::List(items) => Field::List(
                items
                    .into_iter()
                    .map(|item| match item {
                        ListItem::String(s) => Item::Text(s),
                        ListItem::Dict(d) => Item::Groups(d.into_iter().collect()),
                    })
                    .collect(),
            ),
        }
    }
}

/// A JSON object in template order: `{"VERSION": "15.4(2)T4", ...}`.
impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (name, field) in &self.fields {
            map.serialize_entry(name, field)?;
        }
        map.end()
    }
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Text(t) => s.serialize_str(t),
            Field::List(items) => items.serialize(s),
        }
    }
}

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Item::Text(t) => s.serialize_str(t),
            Item::Groups(g) => g.serialize(s),
        }
    }
}
