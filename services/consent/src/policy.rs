//! The release decision under consent and the other legal bases, with data
//! minimisation, and the receiver's check of what arrives.
//!
//! | basis | released when |
//! |---|---|
//! | consent | the record's current version is granted, valid today, for this purpose and this document's child, names the recipient (party or kind); only its categories leave; the receipt names child, document, version and payload hash |
//! | inspection | a primary school's transfer report (WPO art. 42): purpose `transfer_dossier`, to a secondary or primary school, naming the record that the guardians saw this document |
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
            return refuse("consent record unknown");
        };
        let v = &current.version;
        let status = current.status();
        if !matches!(status, ConsentStatus::Granted | ConsentStatus::Requested) {
            return refuse(&format!("consent {}", status_name(status)));
        }
        // What can never change for this message is refused first; only
        // then may it wait for a grant or for the start date.
        if v.purpose != r.purpose {
            return refuse("consent is for another purpose");
        }
        let purpose = crate::Purpose::parse("purpose", &v.purpose)?;
        // A consent is one child's: it releases only documents about that child.
        if r.child_ref != Some(v.child_ref.as_str()) {
            return refuse("consent is for another child");
        }
        let names_recipient = v.recipients.iter().any(|rec| match &rec.target {
            Some(Target::PartyId(id)) => id == r.recipient.id.as_str(),
            Some(Target::Kind(k)) => PartyKind::from_proto(*k) == Some(r.recipient.kind),
            None => false,
        });
        if !names_recipient {
            return refuse("consent does not name this recipient");
        }
        if status == ConsentStatus::Requested {
            return Ok(Decision::NotYet(
                "consent requested, not yet granted".into(),
            ));
        }
        let today = today();
        let from = parse_date("valid_from", &v.valid_from)?;
        if today < from {
            return Ok(Decision::NotYet("consent not yet valid".into()));
        }
        if !v.valid_until.is_empty() && parse_date("valid_until", &v.valid_until)? < today {
            return refuse("consent expired");
        }
        // Whose consent the law asks for is decided again today, for this
        // recipient: a pupil who has turned 16 must have consented personally.
        let need = age::required(
            age::regime(purpose, r.recipient.discipline.as_deref()),
            age::age_on(parse_date("child_birth_date", &v.child_birth_date)?, today),
        );
        if let Err(why) = age::grantors_suffice(need, &v.grantors) {
            return refuse(&format!("the consent no longer suffices: {why}"));
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
        if !crate::inspection::covers(self.consents.store(), &basis.reference, r.document_id)
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

/// The receiver's check: a consent basis must carry a receipt signed by the
/// sender, for this receiver and purpose, for the child and the very document
/// version the envelope carries, still valid, and the payload may hold only
/// the categories the receipt names.
pub struct ConsentArrival;

impl ArrivalCheck for ConsentArrival {
    fn check(&self, a: &Arrival<'_>) -> carenet_fabric::Result<()> {
        RequireBasisOnArrival.check(a)?;
        let Some(basis) = a.header.legal_basis.as_ref() else {
            return Ok(());
        };
        if basis.kind != LegalBasisKind::Consent as i32 {
            return Ok(());
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
        if !body.valid_until.is_empty() && body.valid_until < format_date(today()) {
            return bad("the consent has expired");
        }
        let named: BTreeSet<Category> = body
            .categories
            .iter()
            .filter_map(|c| Category::parse("categories", c).ok())
            .collect();
        let all: BTreeSet<Category> = Category::all().collect();
        match project(a.payload, &all) {
            Some((_, present)) if present.is_subset(&named) => Ok(()),
            Some(_) => bad("the payload holds categories the receipt does not name"),
            None => bad("the payload declares no data categories"),
        }
    }
}
