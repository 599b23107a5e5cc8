//! Loading, generating and storing the CA, and what it writes into the
//! certificates it issues.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use wrenn_cp::pki::{AddressError, CaError, CertificateAuthority, IssueError, Lifetimes};
use wrenn_types::HostId;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

const OPENSSL_CA: &str = include_str!("fixtures/openssl-ca.pem");
const OPENSSL_CA_KEY: &str = include_str!("fixtures/openssl-ca-key.pem");

fn unix(time: SystemTime) -> i64 {
    i64::try_from(time.duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

#[test]
fn a_generated_ca_is_stored_once_and_reloaded_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("pki");

    let generated = CertificateAuthority::load_or_generate(&ca_dir).unwrap();
    let key_path = ca_dir.join("ca-key.pem");
    assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&ca_dir).unwrap().permissions().mode() & 0o777, 0o700);
    let names: Vec<_> = std::fs::read_dir(&ca_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "no temporary file is left behind: {names:?}");

    let reloaded = CertificateAuthority::load_or_generate(&ca_dir).unwrap();
    assert_eq!(reloaded.cert_der(), generated.cert_der());
    assert_eq!(reloaded.fingerprint_sha256(), generated.fingerprint_sha256());
    let key_pem = std::fs::read(&key_path).unwrap();
    let by_path = CertificateAuthority::load(&ca_dir.join("ca.pem"), &key_path).unwrap();
    assert_eq!(by_path.cert_pem(), generated.cert_pem());

    // The reloaded key signs what the first CA's certificate verifies.
    let issued = reloaded.issue_control_plane_client_certificate().unwrap();
    let (_, leaf) = X509Certificate::from_der(&issued.cert_der).unwrap();
    let (_, ca) = X509Certificate::from_der(generated.cert_der()).unwrap();
    leaf.verify_signature(Some(ca.public_key())).unwrap();

    let (_, ca_cert) = X509Certificate::from_der(reloaded.cert_der()).unwrap();
    assert!(ca_cert.is_ca());
    let lifetime = ca_cert.validity().not_after.timestamp() - unix(SystemTime::now());
    let ten_years = 10 * 365 * 24 * 3600;
    assert!((ten_years - 60..=ten_years).contains(&lifetime), "a generated CA lasts ten years: {lifetime}");
    let common_name = ca_cert.subject().iter_common_name().next().unwrap().as_str().unwrap().to_owned();
    assert!(common_name.starts_with("Wrenn control plane CA "), "{common_name}");
    let other = CertificateAuthority::generate().unwrap();
    let (_, other_cert) = X509Certificate::from_der(other.cert_der()).unwrap();
    assert_ne!(other_cert.subject().as_raw(), ca_cert.subject().as_raw(), "every CA has a name of its own");

    // A CA is never regenerated over a half-present one.
    std::fs::remove_file(ca_dir.join("ca.pem")).unwrap();
    let err = CertificateAuthority::load_or_generate(&ca_dir).unwrap_err();
    assert!(matches!(err, CaError::Incomplete { .. }), "{err:?}");
    assert_eq!(std::fs::read(&key_path).unwrap(), key_pem, "the key is untouched");
}

#[test]
fn processes_starting_together_agree_on_one_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("pki");
    let fingerprints: Vec<String> = std::thread::scope(|scope| {
        let starts: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| CertificateAuthority::load_or_generate(&ca_dir).unwrap().fingerprint_sha256()))
            .collect();
        starts.into_iter().map(|start| start.join().unwrap()).collect()
    });
    assert!(fingerprints.iter().all(|fingerprint| *fingerprint == fingerprints[0]), "{fingerprints:?}");
    assert_eq!(std::fs::read_dir(&ca_dir).unwrap().count(), 2);
}

#[test]
fn an_operator_ca_with_a_sec1_key_is_used_as_is() {
    let ca = CertificateAuthority::from_pem(OPENSSL_CA.as_bytes(), OPENSSL_CA_KEY.as_bytes()).unwrap();
    let issued = ca.issue_host_certificate(HostId::from_u128(7), "10.0.0.5:9443").unwrap();
    let (_, leaf) = X509Certificate::from_der(&issued.cert_der).unwrap();
    let (_, ca_cert) = X509Certificate::from_der(ca.cert_der()).unwrap();
    assert_eq!(leaf.issuer().as_raw(), ca_cert.subject().as_raw(), "the issuer name is the CA's, byte for byte");
    leaf.verify_signature(Some(ca_cert.public_key())).unwrap();
}

#[test]
fn broken_cas_are_refused() {
    let not_a_ca_key = KeyPair::generate().unwrap();
    let not_a_ca = CertificateParams::new(vec!["leaf".to_owned()]).unwrap().self_signed(&not_a_ca_key).unwrap();
    let err = CertificateAuthority::from_pem(not_a_ca.pem().as_bytes(), not_a_ca_key.serialize_pem().as_bytes());
    assert!(matches!(err, Err(CaError::NotACa)), "{err:?}");

    let expired_key = KeyPair::generate().unwrap();
    let mut expired = CertificateParams::new(Vec::<String>::new()).unwrap();
    expired.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    expired.not_after = rcgen::date_time_ymd(2020, 1, 1);
    let expired = expired.self_signed(&expired_key).unwrap();
    let err = CertificateAuthority::from_pem(expired.pem().as_bytes(), expired_key.serialize_pem().as_bytes());
    assert!(matches!(err, Err(CaError::Expired { expired_at_unix: 1_577_836_800 })), "{err:?}");

    let other_key = KeyPair::generate().unwrap();
    let err = CertificateAuthority::from_pem(OPENSSL_CA.as_bytes(), other_key.serialize_pem().as_bytes());
    assert!(matches!(err, Err(CaError::KeyMismatch)), "{err:?}");

    let err = CertificateAuthority::from_pem(b"", OPENSSL_CA_KEY.as_bytes());
    assert!(matches!(err, Err(CaError::CertPem { .. })), "{err:?}");

    let dir = tempfile::tempdir().unwrap();
    let err = CertificateAuthority::load(&dir.path().join("missing.pem"), &dir.path().join("key.pem"));
    assert!(matches!(err, Err(CaError::Io { action: "read", .. })), "{err:?}");
}

#[test]
fn host_certificates_name_the_host_and_its_address() {
    let ca = CertificateAuthority::generate().unwrap();
    let host_id = HostId::from_u128(0x2a);
    let before = unix(SystemTime::now());
    let issued = ca.issue_host_certificate(host_id, "127.0.0.1:9443").unwrap();

    let (_, cert) = X509Certificate::from_der(&issued.cert_der).unwrap();
    let common_names: Vec<_> = cert.subject().iter_common_name().map(|cn| cn.as_str().unwrap()).collect();
    assert_eq!(common_names, [host_id.to_string()]);
    let san = cert.subject_alternative_name().unwrap().unwrap();
    assert_eq!(san.value.general_names, [GeneralName::IPAddress(&[127, 0, 0, 1])]);
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
    assert!(cert.key_usage().unwrap().unwrap().value.digital_signature());
    assert!(!cert.is_ca());
    let has_aki = cert
        .extensions()
        .iter()
        .any(|ext| matches!(ext.parsed_extension(), ParsedExtension::AuthorityKeyIdentifier(_)));
    assert!(has_aki, "leaves name their CA's key");

    let validity = cert.validity();
    assert_eq!(validity.not_after.timestamp(), unix(issued.expires_at));
    assert_eq!(validity.not_before.timestamp(), unix(issued.issued_at) - 60, "backdated a minute");
    assert!(unix(issued.issued_at) >= before);
    assert_eq!(issued.expires_at.duration_since(issued.issued_at).unwrap(), Duration::from_secs(7 * 24 * 3600));

    assert_eq!(hex::encode(cert.raw_serial()), issued.serial);
    assert_eq!(issued.serial.len(), 32);
    assert_ne!(ca.issue_host_certificate(host_id, "127.0.0.1:9443").unwrap().serial, issued.serial);
    let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&issued.cert_der));
    assert_eq!(issued.fingerprint_sha256, fingerprint);
    assert!(issued.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(!format!("{issued:?}").contains("PRIVATE"), "Debug hides the key");

    let dns = ca.issue_host_certificate(host_id, "Agent-7.Internal:9443").unwrap();
    let (_, cert) = X509Certificate::from_der(&dns.cert_der).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    assert_eq!(san.value.general_names, [GeneralName::DNSName("agent-7.internal")]);

    let v6 = ca.issue_host_certificate(host_id, "[::1]:9443").unwrap();
    let (_, cert) = X509Certificate::from_der(&v6.cert_der).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let loopback = std::net::Ipv6Addr::LOCALHOST.octets();
    assert_eq!(san.value.general_names, [GeneralName::IPAddress(&loopback)]);
}

#[test]
fn bad_addresses_issue_nothing() {
    let ca = CertificateAuthority::generate().unwrap();
    let host_id = HostId::from_u128(1);
    for (address, expected) in [("", AddressError::Empty), ("x:0", AddressError::Port { address: "x:0".into() })] {
        match ca.issue_host_certificate(host_id, address) {
            Err(IssueError::Address { host_id: got, source }) => {
                assert_eq!(got, host_id);
                assert_eq!(source, expected);
            }
            other => panic!("{address:?}: {other:?}"),
        }
    }
}

#[test]
fn the_control_plane_certificate_is_a_short_lived_client_certificate() {
    let lifetimes = Lifetimes { host: Duration::from_secs(3600), control_plane: Duration::from_secs(90) };
    let ca = CertificateAuthority::generate().unwrap().with_lifetimes(lifetimes);
    let issued = ca.issue_control_plane_client_certificate().unwrap();
    let (_, cert) = X509Certificate::from_der(&issued.cert_der).unwrap();
    let common_names: Vec<_> = cert.subject().iter_common_name().map(|cn| cn.as_str().unwrap()).collect();
    assert_eq!(common_names, ["wrenn-cp"]);
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    assert!(cert.subject_alternative_name().unwrap().is_none());
    assert_eq!(issued.expires_at.duration_since(issued.issued_at).unwrap(), Duration::from_secs(90));

    let default = CertificateAuthority::generate().unwrap().issue_control_plane_client_certificate().unwrap();
    assert_eq!(default.expires_at.duration_since(default.issued_at).unwrap(), Duration::from_secs(24 * 3600));
}
