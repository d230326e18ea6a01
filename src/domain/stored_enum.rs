//! A small macro for enums stored and sent as lowercase text: `as_str`,
//! `ALL`, `FromStr` (exact, as stored) and `Display`, so each such enum is
//! declared once with its wire names.

/// `text_enum! { /// doc  pub enum Name { Variant => "text", ... } }`
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::FieldError::new(
                        stringify!($name),
                        format!("{s:?} is not one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// Where a webhook delivery stands.
    pub enum DeliveryState {
        /// Waiting for its next attempt.
        Pending => "pending",
        Delivered => "delivered",
        /// Gave up after the last retry.
        Failed => "failed",
    }
}

text_enum! {
    /// Where a full audit-chain re-verification stands.
    pub enum VerificationState {
        Running => "running",
        /// Every event checked and the chain unbroken.
        Intact => "intact",
        /// An event does not match its hash: `first_broken_id` names it.
        Broken => "broken",
        /// The job itself failed (a database error); the chain is unjudged.
        Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_enums_round_trip_and_refuse_strangers() {
        for s in DeliveryState::ALL {
            assert_eq!(s.as_str().parse::<DeliveryState>(), Ok(*s));
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
        for s in VerificationState::ALL {
            assert_eq!(s.as_str().parse::<VerificationState>(), Ok(*s));
        }
        assert!("Pending".parse::<DeliveryState>().is_err());
        assert!("".parse::<VerificationState>().is_err());
    }
}
