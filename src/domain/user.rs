//! Users as an administrator creates and changes them: the REST bodies and
//! the admin page's fields, and what they parse into.

use serde::{Deserialize, Serialize};

use super::{FieldError, Password, Role, Username};

/// A new user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = CreateUserBody))]
#[serde(deny_unknown_fields)]
pub struct UserForm {
    pub username: String,
    #[cfg_attr(feature = "ssr", schema(format = Password))]
    pub password: String,
    // A String parsed by hand, so a bad value names the field; documented as a Role.
    #[cfg_attr(feature = "ssr", schema(value_type = Role))]
    pub role: String,
}

/// A new user, checked.
#[derive(Debug)]
pub struct NewUser {
    pub username: Username,
    pub password: Password,
    pub role: Role,
}

impl UserForm {
    pub fn parse(&self) -> Result<NewUser, FieldError> {
        Ok(NewUser {
            username: Username::parse(&self.username)?,
            password: Password::parse("password", &self.password)?,
            role: self.role.parse()?,
        })
    }
}

/// Changes to a user: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = UpdateUserBody))]
#[serde(deny_unknown_fields)]
pub struct UserEdit {
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Role>))]
    pub role: Option<String>,
    /// `false` also ends the user's sessions.
    pub active: Option<bool>,
    /// A reset; also ends the user's sessions.
    #[cfg_attr(feature = "ssr", schema(format = Password))]
    pub password: Option<String>,
}

/// Changes to a user, checked; every part is parsed before anything changes.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password: Option<Password>,
}

impl UserEdit {
    pub fn parse(&self) -> Result<UserChanges, FieldError> {
        Ok(UserChanges {
            role: self.role.as_deref().map(str::parse).transpose()?,
            active: self.active,
            password: self
                .password
                .as_deref()
                .map(|pw| Password::parse("password", pw))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_name_the_bad_field() {
        let form = UserForm {
            username: "fay".into(),
            password: "a-long-enough-password".into(),
            role: "approver".into(),
        };
        assert_eq!(form.parse().unwrap().role, Role::Approver);
        let bad_role = UserForm {
            role: "root".into(),
            ..form.clone()
        };
        assert_eq!(bad_role.parse().unwrap_err().field, "role");
        let short = UserForm {
            password: "short".into(),
            ..form
        };
        assert_eq!(short.parse().unwrap_err().field, "password");
        let edit = UserEdit {
            active: Some(false),
            ..UserEdit::default()
        };
        let changes = edit.parse().unwrap();
        assert_eq!((changes.role, changes.active), (None, Some(false)));
    }
}
