#!/usr/bin/env python3
"""Independent validation of OSO files that carenet exports.

Checks each FILE against the OSO 2019.1 XSD (lxml) and the official business
rules (XSLT 2.0, run by saxonche) of the file's own kind: an SWV dossier
(overdrachtsoort swv-dossier, profiles POSWV and VOSWV) against
ValideerSwvPaO-profielen.xsl in --pao-dir, every other dossier against
ValideerOverstapprofielen.xsl in --oso-dir. With --same-as ORIGINAL, also
checks that FILE holds exactly the values of ORIGINAL (element paths,
attributes and texts in order). Prints one line per problem, then
"FILE: ok (RULES)" or "FILE: invalid (RULES)", and exits 1 if there is any.

usage: validate.py [--oso-dir DIR] [--pao-dir DIR] [--same-as ORIGINAL] FILE...
"""
import argparse
import os
import sys

import lxml.etree as ET
from saxonche import PySaxonProcessor

MELDINGEN = "{http://www.edustandaard.nl/oso_gegevensset/2019/schemas/Meldingen}"
DOSSIER = "{http://www.edustandaard.nl/oso_gegevensset/2019/dossier}"


def values(path):
    tree = ET.parse(path)
    out = []
    for e in tree.iter():
        if not isinstance(e.tag, str):
            continue
        text = (e.text or "") if len(e) == 0 else ""
        out.append((tree.getpath(e), sorted(e.attrib.items()), text))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    vendor = os.path.normpath(os.path.join(here, "..", "..", "vendor", "oso"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--oso-dir", default=os.path.join(vendor, "OV"))
    ap.add_argument("--pao-dir", default=os.path.join(vendor, "PaO"))
    ap.add_argument("--same-as")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    problems = 0
    with PySaxonProcessor(license=False) as proc:
        compiled = {}

        def rules_for(tree):
            """The XSD and compiled business rules for a dossier's kind."""
            kind = tree.findtext(DOSSIER + "overdrachtsoort")
            if kind == "swv-dossier":
                d, xsl = args.pao_dir, "ValideerSwvPaO-profielen.xsl"
            else:
                d, xsl = args.oso_dir, "ValideerOverstapprofielen.xsl"
            if xsl not in compiled:
                compiled[xsl] = (
                    ET.XMLSchema(ET.parse(os.path.join(d, "OSO_gegevensset_2019.1.xsd"))),
                    proc.new_xslt30_processor().compile_stylesheet(
                        stylesheet_file=os.path.abspath(os.path.join(d, xsl))),
                )
            return (xsl,) + compiled[xsl]

        for f in args.files:
            before = problems
            tree = ET.parse(f)
            name, schema, rules = rules_for(tree)
            if not schema.validate(tree):
                for err in schema.error_log:
                    print(f"{f}: xsd: line {err.line}: {err.message}")
                    problems += 1
            report = ET.fromstring(rules.transform_to_string(source_file=os.path.abspath(f)).encode())
            for m in report.iter(MELDINGEN + "melding"):
                kind = m.findtext(MELDINGEN + "type") or ""
                text = " ".join(m.itertext()).strip()
                print(f"{f}: rule: {text}")
                if kind == "Fout":
                    problems += 1
            if args.same_as:
                a, b = values(args.same_as), values(f)
                if a != b:
                    diff = next((x, y) for x, y in zip(a + [None], b + [None]) if x != y)
                    print(f"{f}: differs from {args.same_as}: {diff[0]} != {diff[1]}")
                    problems += 1
            print(f"{f}: {'ok' if problems == before else 'invalid'} ({name})")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
