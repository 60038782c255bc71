//! The release decision under consent and the other legal bases, with data
//! minimisation, and the receiver's check of what arrives.
//!
//! | basis | released when |
//! |---|---|
//! | consent | the record's current version is granted, valid today, for this purpose and this document's child, names the recipient (party or kind); only its categories leave; the receipt names child, document, version and payload hash |
//! | inspection | a primary school's transfer report (WPO art. 42): purpose `transfer_dossier`, to a secondary or primary school, naming the record that the guardians saw this document (this version, where the record is bound to one) |
//! | statutory task | the reference is a task the document type registers (checked by the fabric's registry on both sides) |
//! | safety exception | the message names a recorded exception (reason, staff member, care coordinator told) for this child, recipient and purpose, not past its end date |

use std::collections::BTreeSet;
use std::sync::Arc;

use carenet_fabric::PartyKind;
use carenet_fabric::clock::now_ms;
use carenet_fabric::crypto::{SigningKey, sha256};
use carenet_fabric::policy::{
    Arrival, ArrivalCheck, Decision, ReleasePolicy, ReleaseRequest, RequireBasisOnArrival,
};
use carenet_proto::v1::{self, ConsentStatus, LegalBasisKind, consent_recipient::Target};
use futures::future::BoxFuture;
use prost::Message;
use time::Date;

use crate::record::{ConsentStore, format_date, parse_date, status_name};
use crate::{Category, age, receipt};

/// Keeps the sections of `payload` whose category is in `allowed`. Returns the
/// projected document and the categories it still holds; `None` if the payload
/// is not a categorized document or a section names an unknown category.
pub fn project(
    payload: &[u8],
    allowed: &BTreeSet<Category>,
) -> Option<(v1::CategorizedDocument, BTreeSet<Category>)> {
    let doc = v1::CategorizedDocument::decode(payload).ok()?;
    let mut kept = Vec::new();
    let mut present = BTreeSet::new();
    for section in doc.sections {
        let category = Category::parse("section.category", &section.category).ok()?;
        if allowed.contains(&category) {
            present.insert(category);
            kept.push(section);
        }
    }
    Some((v1::CategorizedDocument { sections: kept }, present))
}

fn today() -> Date {
    carenet_fabric::clock::today()
}

/// Whether a record's current version covers sharing about `child_ref`
/// with `recipient` for `purpose` on `today`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coverage {
    Covers,
    /// Requested and not yet granted, or not yet valid: it may still come.
    NotYet(&'static str),
    /// Never for this message (the reason names no personal data).
    Refuse(String),
}

/// The one check of a consent record against a message or a membership:
/// status, purpose, child, recipient (party or kind), validity period, and
/// whose consent the law asks for today (a pupil from 16 consents
/// personally). The release policy and the case plan's memberships use it.
pub fn coverage(
    current: &crate::record::Stored,
    purpose: &str,
    child_ref: Option<&str>,
    recipient: &carenet_fabric::directory::PartyEntry,
    today: Date,
) -> carenet_fabric::Result<Coverage> {
    let refuse = |why: &str| Ok(Coverage::Refuse(why.to_owned()));
    let v = &current.version;
    let status = current.status();
    if !matches!(status, ConsentStatus::Granted | ConsentStatus::Requested) {
        return refuse(&format!("consent {}", status_name(status)));
    }
    // What can never change for this message is refused first; only
    // then may it wait for a grant or for the start date.
    if v.purpose != purpose {
        return refuse("consent is for another purpose");
    }
    let parsed = crate::Purpose::parse("purpose", &v.purpose)?;
    // A consent is one child's: it covers only that child.
    if child_ref != Some(v.child_ref.as_str()) {
        return refuse("consent is for another child");
    }
    let names_recipient = v.recipients.iter().any(|rec| match &rec.target {
        Some(Target::PartyId(id)) => id == recipient.id.as_str(),
        Some(Target::Kind(k)) => PartyKind::from_proto(*k) == Some(recipient.kind),
        None => false,
    });
    if !names_recipient {
        return refuse("consent does not name this recipient");
    }
    if status == ConsentStatus::Requested {
        return Ok(Coverage::NotYet("consent requested, not yet granted"));
    }
    let from = parse_date("valid_from", &v.valid_from)?;
    if today < from {
        return Ok(Coverage::NotYet("consent not yet valid"));
    }
    if !v.valid_until.is_empty() && parse_date("valid_until", &v.valid_until)? < today {
        return refuse("consent expired");
    }
    // Whose consent the law asks for is decided again today, for this
    // recipient: a pupil who has turned 16 must have consented personally.
    let need = age::required(
        age::regime(parsed, recipient.discipline.as_deref()),
        age::age_on(parse_date("child_birth_date", &v.child_birth_date)?, today),
    );
    if let Err(why) = age::grantors_suffice(need, &v.grantors) {
        return refuse(&format!("the consent no longer suffices: {why}"));
    }
    Ok(Coverage::Covers)
}

/// The consent service's release policy for one holder node.
pub struct ConsentPolicy {
    consents: ConsentStore,
    signing: Arc<SigningKey>,
    holder: String,
}

impl ConsentPolicy {
    pub fn new(consents: ConsentStore, signing: Arc<SigningKey>, holder: &str) -> Self {
        Self {
            consents,
            signing,
            holder: holder.to_owned(),
        }
    }

    async fn under_consent(
        &self,
        r: &ReleaseRequest<'_>,
        basis: &v1::LegalBasis,
    ) -> carenet_fabric::Result<Decision> {
        let refuse = |why: &str| Ok(Decision::Refuse(why.to_owned()));
        let Some(current) = self.consents.latest(&basis.reference).await? else {
            // Not a record of this node: it may be a member's answer under
            // the holder's record (the holder's receipt travels with it).
            if !basis.consent_receipt.is_empty() {
                return Ok(self.answer_under_holders_receipt(r, basis));
            }
            return refuse("consent record unknown");
        };
        let v = &current.version;
        match coverage(&current, r.purpose, r.child_ref, r.recipient, today())? {
            Coverage::Covers => {}
            Coverage::NotYet(why) => return Ok(Decision::NotYet(why.into())),
            Coverage::Refuse(why) => return refuse(&why),
        }
        let allowed: BTreeSet<Category> = v
            .categories
            .iter()
            .filter_map(|c| Category::parse("categories", c).ok())
            .collect();
        let Some((projected, present)) = project(r.payload, &allowed) else {
            return refuse("payload declares no data categories");
        };
        if present.is_empty() {
            return refuse("nothing in the consented categories");
        }
        let payload = projected.encode_to_vec();
        let body = v1::ConsentReceiptBody {
            holder: self.holder.clone(),
            record_id: v.record_id.clone(),
            version: v.version,
            version_sha256: current.sha256.to_vec(),
            purpose: v.purpose.clone(),
            recipient: r.recipient.id.to_string(),
            categories: present.iter().map(|c| c.as_str().to_owned()).collect(),
            valid_until: v.valid_until.clone(),
            issued_at_ms: now_ms(),
            child: r.child.unwrap_or_default().to_owned(),
            document_id: r.document_id.to_owned(),
            document_version: r.version,
            payload_sha256: sha256(&payload).to_vec(),
        };
        Ok(Decision::Release {
            payload,
            legal_basis: Some(v1::LegalBasis {
                kind: LegalBasisKind::Consent as i32,
                reference: v.record_id.clone(),
                consent_receipt: receipt::sign(&self.signing, &body).encode_to_vec(),
            }),
            // Committed only if no withdrawal came in between.
            hold: Some(carenet_fabric::policy::Hold {
                reference: crate::record::basis_reference(&v.record_id),
                version: i64::from(v.version),
            }),
        })
    }

    /// A member's answer to the holder of a record (purposes in
    /// [`ANSWERS`]): this node holds no record, but the holder's own
    /// receipt, issued to this node for that record and purpose, shows the
    /// consent under which the holder shared the case; the answer goes back
    /// to that holder only, in the categories the receipt names. The holder
    /// checks its record again on arrival and when it applies the answer.
    fn answer_under_holders_receipt(
        &self,
        r: &ReleaseRequest<'_>,
        basis: &v1::LegalBasis,
    ) -> Decision {
        match answer_receipt(&Answer {
            receipt: &basis.consent_receipt,
            holder_key: &r.recipient.signing_key,
            holder: r.recipient.id.as_str(),
            member: &self.holder,
            purpose: r.purpose,
            document_type: r.document_type,
            record: &basis.reference,
            payload: r.payload,
        }) {
            Ok(()) => Decision::Release {
                payload: r.payload.to_vec(),
                legal_basis: None,
                hold: None,
            },
            Err(why) => Decision::Refuse(why.to_owned()),
        }
    }

    async fn under_inspection(
        &self,
        r: &ReleaseRequest<'_>,
        basis: &v1::LegalBasis,
    ) -> carenet_fabric::Result<Decision> {
        // The onderwijskundig rapport of a primary school (WPO art. 42), to
        // the secondary school or the primary school the pupil moves to.
        let transfer_report = r.purpose == crate::Purpose::TransferDossier.as_str()
            && r.holder_kind == Some(PartyKind::PoSchool)
            && matches!(r.recipient.kind, PartyKind::VoSchool | PartyKind::PoSchool);
        if !transfer_report {
            return Ok(Decision::Refuse(
                "inspection is a basis only for a primary school's transfer report".into(),
            ));
        }
        if !crate::inspection::covers_version(
            self.consents.store(),
            &basis.reference,
            r.document_id,
            r.version,
        )
        .await?
        {
            return Ok(Decision::Refuse(
                "the guardians have not seen this document".into(),
            ));
        }
        Ok(Decision::Release {
            payload: r.payload.to_vec(),
            legal_basis: None,
            hold: None,
        })
    }
}

impl ReleasePolicy for ConsentPolicy {
    fn decide<'a>(
        &'a self,
        r: ReleaseRequest<'a>,
    ) -> BoxFuture<'a, carenet_fabric::Result<Decision>> {
        Box::pin(async move {
            let Some(basis) = r.legal_basis else {
                return Ok(Decision::Refuse("no legal basis".into()));
            };
            match LegalBasisKind::try_from(basis.kind) {
                Ok(LegalBasisKind::Consent) => self.under_consent(&r, basis).await,
                Ok(LegalBasisKind::Inspection) => self.under_inspection(&r, basis).await,
                Ok(LegalBasisKind::StatutoryTask) if !basis.reference.is_empty() => {
                    Ok(Decision::Release {
                        payload: r.payload.to_vec(),
                        legal_basis: None,
                        hold: None,
                    })
                }
                Ok(LegalBasisKind::SafetyException) => {
                    let release = crate::safety::Release {
                        child_ref: r.child_ref,
                        recipient: r.recipient.id.as_str(),
                        purpose: r.purpose,
                        today: today(),
                    };
                    match crate::safety::allows(self.consents.store(), &basis.reference, &release)
                        .await?
                    {
                        Ok(()) => Ok(Decision::Release {
                            payload: r.payload.to_vec(),
                            legal_basis: None,
                            hold: None,
                        }),
                        Err(why) => Ok(Decision::Refuse(why.into())),
                    }
                }
                _ => Ok(Decision::Refuse("no legal basis".into())),
            }
        })
    }
}

/// What a member may send back to the holder of the record under the
/// holder's own receipt: (purpose, document type). Progress on a case
/// plan's tasks; the SWV's status of a school's support request.
pub const ANSWERS: &[(&str, &str)] = &[
    ("case_membership", "carenet.case_progress"),
    // The SWV's status of a school's support request, back to the school.
    ("support_request", "carenet.support_status"),
];

/// One answer as [`answer_receipt`] checks it.
pub struct Answer<'a> {
    /// The holder's receipt, as the legal basis carries it.
    pub receipt: &'a [u8],
    pub holder_key: &'a [u8],
    pub holder: &'a str,
    pub member: &'a str,
    pub purpose: &'a str,
    pub document_type: &'a str,
    pub record: &'a str,
    pub payload: &'a [u8],
}

/// Checks an answer: a (purpose, document type) of [`ANSWERS`], under a
/// receipt signed by the holder, issued to the member for that record and
/// purpose, not expired, and a payload holding only categories it names.
/// The reason names no personal data.
pub fn answer_receipt(a: &Answer<'_>) -> Result<(), &'static str> {
    let (bytes, holder_key, holder, member, purpose, record, payload) = (
        a.receipt,
        a.holder_key,
        a.holder,
        a.member,
        a.purpose,
        a.record,
        a.payload,
    );
    if !ANSWERS.contains(&(purpose, a.document_type)) {
        return Err("consent record unknown");
    }
    let body =
        receipt::verify(bytes, holder_key).map_err(|_| "the holder's receipt does not verify")?;
    if body.holder != holder || body.recipient != member {
        return Err("the receipt is not the holder's to this party");
    }
    if body.purpose != purpose || body.record_id != record {
        return Err("the receipt is for another purpose or record");
    }
    if expired(&body) {
        return Err("the consent has expired");
    }
    if project(payload, &Category::all().collect()).is_none() {
        return Err("the answer declares no data categories");
    }
    match present_within(payload, &body.categories) {
        Some(present) if !present.is_empty() => Ok(()),
        Some(_) => Err("the answer declares no data categories"),
        None => Err("the answer holds categories the receipt does not name"),
    }
}

/// Whether the consent a receipt names has ended (a receipt states its end).
fn expired(body: &v1::ConsentReceiptBody) -> bool {
    !body.valid_until.is_empty() && body.valid_until < format_date(today())
}

/// The categories `payload` holds if they are all among `named` (a
/// receipt's categories); `None` if one is not, or if the payload is not a
/// categorized document.
fn present_within(payload: &[u8], named: &[String]) -> Option<BTreeSet<Category>> {
    let named: BTreeSet<Category> = named
        .iter()
        .filter_map(|c| Category::parse("categories", c).ok())
        .collect();
    let all: BTreeSet<Category> = Category::all().collect();
    let (_, present) = project(payload, &all)?;
    present.is_subset(&named).then_some(present)
}

/// The receiver's check: a consent basis must carry a receipt signed by the
/// sender, for this receiver and purpose, for the child and the very document
/// version the envelope carries, still valid, and the payload may hold only
/// the categories the receipt names. A member's answer to this node (see
/// [`answer_receipt`]) carries this node's own receipt instead: it is checked
/// with this node's key (`own_key`; without it, answers are refused).
#[derive(Default)]
pub struct ConsentArrival {
    pub own_key: Option<Vec<u8>>,
}

impl ConsentArrival {
    /// The check of a node whose signing key's public half is `own_key`.
    pub fn for_node(own_key: Vec<u8>) -> Self {
        Self {
            own_key: Some(own_key),
        }
    }
}

impl ArrivalCheck for ConsentArrival {
    fn check(&self, a: &Arrival<'_>) -> carenet_fabric::Result<()> {
        RequireBasisOnArrival.check(a)?;
        let Some(basis) = a.header.legal_basis.as_ref() else {
            return Ok(());
        };
        if basis.kind != LegalBasisKind::Consent as i32 {
            return Ok(());
        }
        if let Some(own_key) = self.own_key.as_deref()
            && ANSWERS.iter().any(|(p, _)| *p == a.header.purpose)
            && receipt::verify(&basis.consent_receipt, own_key).is_ok()
        {
            return answer_receipt(&Answer {
                receipt: &basis.consent_receipt,
                holder_key: own_key,
                holder: a.receiver,
                member: a.sender.id.as_str(),
                purpose: &a.header.purpose,
                document_type: &a.header.document_type,
                record: &basis.reference,
                payload: a.payload,
            })
            .map_err(|why| carenet_fabric::Error::invalid("legal_basis.consent_receipt", why));
        }
        let body = receipt::verify(&basis.consent_receipt, &a.sender.signing_key)?;
        let bad = |why: &str| {
            Err(carenet_fabric::Error::invalid(
                "legal_basis.consent_receipt",
                why,
            ))
        };
        if body.holder != a.sender.id.as_str() {
            return bad("issued by another party than the sender");
        }
        if body.recipient != a.receiver {
            return bad("issued for another recipient");
        }
        if body.purpose != a.header.purpose || body.record_id != basis.reference {
            return bad("issued for another purpose or record");
        }
        if body.child.is_empty() || body.child != a.header.child {
            return bad("issued for another child");
        }
        if body.document_id != a.header.document_id
            || body.document_version != a.header.version
            || body.payload_sha256 != a.header.payload_sha256
        {
            return bad("issued for another document or version");
        }
        if expired(&body) {
            return bad("the consent has expired");
        }
        if project(a.payload, &Category::all().collect()).is_none() {
            return bad("the payload declares no data categories");
        }
        match present_within(a.payload, &body.categories) {
            Some(_) => Ok(()),
            None => bad("the payload holds categories the receipt does not name"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap()
    }

    fn body(categories: &[&str], valid_until: &str) -> v1::ConsentReceiptBody {
        v1::ConsentReceiptBody {
            holder: "vo-1".into(),
            record_id: "rec-1".into(),
            version: 1,
            purpose: "case_membership".into(),
            recipient: "jgz-1".into(),
            categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            valid_until: valid_until.into(),
            child: "pseudonym".into(),
            document_id: "case-p1".into(),
            document_version: 3,
            ..Default::default()
        }
    }

    fn payload(categories: &[&str]) -> Vec<u8> {
        v1::CategorizedDocument {
            sections: categories
                .iter()
                .map(|c| v1::Section {
                    category: (*c).to_owned(),
                    name: "case_progress".into(),
                    content: vec![1],
                })
                .collect(),
        }
        .encode_to_vec()
    }

    /// An answer's fields, owned, so a case can change one of them.
    #[derive(Clone)]
    struct Case {
        receipt: Vec<u8>,
        key: Vec<u8>,
        holder: &'static str,
        member: &'static str,
        purpose: &'static str,
        document_type: &'static str,
        record: &'static str,
        categories: Vec<&'static str>,
    }

    impl Case {
        fn check(&self) -> Result<(), &'static str> {
            answer_receipt(&Answer {
                receipt: &self.receipt,
                holder_key: &self.key,
                holder: self.holder,
                member: self.member,
                purpose: self.purpose,
                document_type: self.document_type,
                record: self.record,
                payload: &payload(&self.categories),
            })
        }
    }

    #[test]
    fn an_answer_goes_back_only_under_the_holders_own_receipt() {
        let holder = key();
        let sign = |b: &v1::ConsentReceiptBody| receipt::sign(&holder, b).encode_to_vec();
        let good = Case {
            receipt: sign(&body(&["action_plans", "external_care"], "")),
            key: holder.public_key(),
            holder: "vo-1",
            member: "jgz-1",
            purpose: "case_membership",
            document_type: "carenet.case_progress",
            record: "rec-1",
            categories: vec!["external_care"],
        };
        assert_eq!(good.check(), Ok(()));
        let mut other_purpose = body(&["external_care"], "");
        other_purpose.purpose = "transfer_dossier".into();
        let with = |change: &dyn Fn(&mut Case)| {
            let mut c = good.clone();
            change(&mut c);
            c
        };
        // Each field that does not match refuses it.
        let refused = [
            ("another key", with(&|c| c.key = key().public_key())),
            ("another holder", with(&|c| c.holder = "vo-2")),
            ("another member", with(&|c| c.member = "smw-1")),
            ("another purpose", with(&|c| c.purpose = "refer_to_zat")),
            ("another record", with(&|c| c.record = "rec-2")),
            (
                "not the progress type",
                with(&|c| c.document_type = "carenet.case_view"),
            ),
            (
                "a category not named",
                with(&|c| c.categories = vec!["diagnosis"]),
            ),
            ("no category", with(&|c| c.categories = vec![])),
            (
                "after the consent's end",
                with(&|c| c.receipt = sign(&body(&["external_care"], "2020-01-01"))),
            ),
            (
                "a purpose that is not an answer's",
                with(&|c| {
                    c.receipt = sign(&other_purpose);
                    c.purpose = "transfer_dossier";
                }),
            ),
        ];
        for (what, case) in refused {
            assert!(case.check().is_err(), "{what}");
        }
        assert_eq!(
            with(&|c| c.receipt = sign(&body(&["external_care"], "2020-01-01"))).check(),
            Err("the consent has expired")
        );
    }
}
