//! [`Context`]: request and service context that rides on records.

use super::Field;

/// Request and service context, with the original's fields in its order.
///
/// `custom` keys are flattened into the JSON `context` object after the named
/// ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    /// Client IP address.
    pub ip: Option<String>,
    /// Access line, such as `"GET /users"`.
    pub access: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Request identifier.
    pub request_id: Option<String>,
    /// User identifier.
    pub user_id: Option<String>,
    /// Session identifier.
    pub session_id: Option<String>,
    /// Service name.
    pub service_name: Option<String>,
    /// Service version.
    pub version: Option<String>,
    /// Deployment environment.
    pub environment: Option<String>,
    /// Any other keys.
    pub custom: Vec<Field>,
}

impl Context {
    /// The named fields in the original's order, with their JSON keys.
    pub fn named(&self) -> [(&'static str, Option<&str>); 9] {
        [
            ("ip", self.ip.as_deref()),
            ("access", self.access.as_deref()),
            ("user_agent", self.user_agent.as_deref()),
            ("request_id", self.request_id.as_deref()),
            ("user_id", self.user_id.as_deref()),
            ("session_id", self.session_id.as_deref()),
            ("service_name", self.service_name.as_deref()),
            ("version", self.version.as_deref()),
            ("environment", self.environment.as_deref()),
        ]
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.named().iter().all(|(_, v)| v.is_none()) && self.custom.is_empty()
    }

    /// `self` overlaid with `other`: each field of `other` that is set (and not
    /// empty) wins; custom keys merge, `other`'s winning.
    pub fn merge(&self, other: &Context) -> Context {
        fn pick(a: &Option<String>, b: &Option<String>) -> Option<String> {
            match b {
                Some(s) if !s.is_empty() => Some(s.clone()),
                _ => a.clone(),
            }
        }
        let mut custom = self.custom.clone();
        for (k, v) in &other.custom {
            match custom.iter_mut().find(|(ck, _)| ck == k) {
                Some(slot) => slot.1 = v.clone(),
                None => custom.push((k.clone(), v.clone())),
            }
        }
        Context {
            ip: pick(&self.ip, &other.ip),
            access: pick(&self.access, &other.access),
            user_agent: pick(&self.user_agent, &other.user_agent),
            request_id: pick(&self.request_id, &other.request_id),
            user_id: pick(&self.user_id, &other.user_id),
            session_id: pick(&self.session_id, &other.session_id),
            service_name: pick(&self.service_name, &other.service_name),
            version: pick(&self.version, &other.version),
            environment: pick(&self.environment, &other.environment),
            custom,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_prefers_set_fields_of_the_argument() {
        let a = Context {
            ip: Some("1.1.1.1".into()),
            user_id: Some("a".into()),
            custom: vec![("k".into(), 1.into()), ("j".into(), 2.into())],
            ..Context::default()
        };
        let b = Context {
            user_id: Some("b".into()),
            ip: Some(String::new()),
            custom: vec![("k".into(), 3.into())],
            ..Context::default()
        };
        let m = a.merge(&b);
        assert_eq!(m.ip.as_deref(), Some("1.1.1.1"));
        assert_eq!(m.user_id.as_deref(), Some("b"));
        assert_eq!(
            m.custom,
            vec![("k".into(), 3.into()), ("j".into(), 2.into())]
        );
    }
}
