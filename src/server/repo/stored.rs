//! Stored enums decode into their domain types. A column holds text (the
//! value's `as_str`); a value the code does not know is a decode error that
//! names the column and the value, never read as some default: in an audit
//! product a corrupt or foreign row must be noticed, not reinterpreted.

use sqlx::{
    any::AnyTypeInfo, encode::IsNull, error::BoxDynError, Any, Database, Decode, Encode, Type,
};

use crate::domain::{
    catalog::VersionStatus,
    mlflow_tracking::{LoggedModelStatus, RunStatus},
    Decision, DeliveryState, RequestKind, RequestState, Role, Stage, TokenScope, VerificationState,
};

/// Implements `Type`, `Decode` and `Encode` for the `Any` driver on an
/// enum with `FromStr` and `as_str`, stored as its text.
macro_rules! stored_as_text {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl Type<Any> for $ty {
            fn type_info() -> AnyTypeInfo {
                <String as Type<Any>>::type_info()
            }
            fn compatible(ty: &AnyTypeInfo) -> bool {
                <String as Type<Any>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Any> for $ty {
            fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <String as Decode<'r, Any>>::decode(value)?;
                raw.parse::<$ty>().map_err(|_| {
                    format!("{:?} is not a {} this version knows", raw, $what).into()
                })
            }
        }

        impl<'q> Encode<'q, Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'q, Any>>::encode(self.as_str(), buf)
            }
        }
    )*};
}

stored_as_text! {
    Stage => "stage",
    VersionStatus => "version status",
    RequestState => "request state",
    RequestKind => "request kind",
    Decision => "decision",
    Role => "role",
    TokenScope => "token scope",
    DeliveryState => "delivery state",
    VerificationState => "verification state",
    RunStatus => "run status",
    LoggedModelStatus => "logged model status",
}
