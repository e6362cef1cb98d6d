//! Closed sets of names (channels, categories, statuses...) that travel as snake_case text.

use std::str::FromStr;

pub use strum::VariantNames;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{value}` is not one of: {allowed}")]
pub struct UnknownVariant {
    pub value: String,
    /// The accepted names, comma-separated.
    pub allowed: String,
}

/// Parses one of a closed set of snake_case names, naming the accepted ones when it fails.
pub fn parse_variant<T: FromStr + VariantNames>(value: &str) -> Result<T, UnknownVariant> {
    value.parse().map_err(|_| UnknownVariant {
        value: value.to_owned(),
        allowed: T::VARIANTS.join(", "),
    })
}

/// The derives every closed set of names shares: snake_case text in JSON, DynamoDB and logs.
macro_rules! named_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[derive(strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray, strum::VariantNames)]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}
