//! What building a base template consists of, as data: the base templates'
//! definitions and the ordered steps of a build. Pure, so the order of the
//! progress phases is tested without root or network; `template::build`
//! executes the steps.
//!
//! `python` is layered on `minimal` (copy its rootfs, `apt-get install` in a
//! chroot) because that measured faster than a second full debootstrap.

/// Debian release every base template is built from.
pub const SUITE: &str = "bookworm";

/// A template Wrenn builds itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseTemplate {
    pub name: &'static str,
    /// Built on this base template's rootfs, or from debootstrap when `None`.
    pub parent: Option<&'static str>,
    /// Packages added on top of the parent (or of `minbase`).
    pub packages: &'static [&'static str],
}

/// The base templates, parents before children.
pub const BASE_TEMPLATES: &[BaseTemplate] = &[
    BaseTemplate { name: "minimal", parent: None, packages: &["ca-certificates", "curl", "procps", "sudo"] },
    BaseTemplate { name: "python", parent: Some("minimal"), packages: &["python3", "python3-pip", "python3-venv"] },
];

/// Looks up a base template by name.
pub fn base_template(name: &str) -> Option<&'static BaseTemplate> {
    BASE_TEMPLATES.iter().find(|base| base.name == name)
}

/// All packages of a base template, its parents' first.
pub(crate) fn all_packages(base: &BaseTemplate) -> Vec<String> {
    let mut packages = base.parent.and_then(base_template).map(all_packages).unwrap_or_default();
    packages.extend(base.packages.iter().map(|p| (*p).to_owned()));
    packages
}

/// The coarse stages of a build, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuildPhase {
    Debootstrap,
    Packages,
    InjectEnvd,
    Done,
}

/// One step of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BuildStep {
    /// `debootstrap --variant=minbase --include=<packages>` into the staging rootfs.
    Debootstrap { packages: Vec<String> },
    /// Copy the parent's rootfs (canonical, so apt in a chroot sees
    /// ordinary root-owned files).
    CopyParent { parent: &'static str },
    /// `apt-get update && apt-get install --no-install-recommends` in a chroot.
    AptInstall { packages: Vec<String> },
    /// Drop apt's caches and lists; write `/etc/hostname` and `/etc/resolv.conf` placeholders.
    Trim,
    /// Copy envd to `/usr/local/bin/envd`, owned by capsule root, mode 0755.
    InjectEnvd,
    /// Write the manifest and rename the staging directory into place.
    Publish,
}

impl BuildStep {
    pub(crate) fn phase(&self) -> BuildPhase {
        match self {
            BuildStep::Debootstrap { .. } => BuildPhase::Debootstrap,
            BuildStep::CopyParent { .. } | BuildStep::AptInstall { .. } | BuildStep::Trim => BuildPhase::Packages,
            BuildStep::InjectEnvd => BuildPhase::InjectEnvd,
            BuildStep::Publish => BuildPhase::Done,
        }
    }
}

/// The steps that build `base`, in order.
pub(crate) fn plan(base: &BaseTemplate) -> Vec<BuildStep> {
    let packages: Vec<String> = base.packages.iter().map(|p| (*p).to_owned()).collect();
    let mut steps = match base.parent {
        None => vec![BuildStep::Debootstrap { packages }],
        Some(parent) => vec![BuildStep::CopyParent { parent }, BuildStep::AptInstall { packages }],
    };
    steps.extend([BuildStep::Trim, BuildStep::InjectEnvd, BuildStep::Publish]);
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_runs_its_phases_in_order_and_ends_done() {
        for base in BASE_TEMPLATES {
            let phases: Vec<BuildPhase> = plan(base).iter().map(BuildStep::phase).collect();
            assert!(phases.is_sorted(), "{}: {phases:?}", base.name);
            assert_eq!(phases.last(), Some(&BuildPhase::Done), "{}", base.name);
            assert_eq!(phases.iter().filter(|p| **p == BuildPhase::InjectEnvd).count(), 1);
            assert_eq!(phases.contains(&BuildPhase::Debootstrap), base.parent.is_none(), "{}", base.name);
        }
    }

    #[test]
    fn parents_come_first_and_packages_accumulate() {
        for (i, base) in BASE_TEMPLATES.iter().enumerate() {
            if let Some(parent) = base.parent {
                assert!(BASE_TEMPLATES[..i].iter().any(|b| b.name == parent), "{} before {parent}", base.name);
            }
        }
        let python = base_template("python").unwrap();
        assert_eq!(
            all_packages(python),
            ["ca-certificates", "curl", "procps", "sudo", "python3", "python3-pip", "python3-venv"]
        );
        assert!(base_template("nope").is_none());
    }
}
