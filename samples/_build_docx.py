"""Regenerate the sample DOCX contract (distributor agreement with Amber Industrial Solutions SIA) with python-docx."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

OUTPUT_PATH = Path(__file__).parent / "contracts" / "distributor_agreement_amber_baltics_2026.docx"

TITLE = "Distributor Agreement — Amber Industrial Solutions SIA — Baltic States"

PREAMBLE = [
    "Agreement No.: QQ-DIST-2026-0201",
    "Effective Date: February 1, 2026",
    "This Distributor Agreement (the \"Agreement\") is made between Hangzhou Qingquan Intelligent Technology Co., "
    "Ltd., Qingquan Tower, 3880 Jiangnan Avenue, Binjiang District, Hangzhou, Zhejiang, China (\"Qingquan\"), "
    "represented by Zhou Mingyuan, Legal Representative, and Amber Industrial Solutions SIA, a limited liability "
    "company registered in Latvia under registration number 40103987654, Krasta iela 52, Riga, LV-1003, Latvia "
    "(\"Distributor\"), represented by Mārtiņš Ozols, Managing Director.",
]

# (section heading, [sub-clauses]) — the heading becomes a Word "Heading 2", each sub-clause a paragraph.
SECTIONS: list[tuple[str, list[str]]] = [
    ("Section 1 Appointment", [
        "1.1 Qingquan appoints Distributor as its exclusive distributor of the Products in the Territory, and "
        "Distributor accepts the appointment.",
        "1.2 \"Territory\" means the Republic of Latvia, the Republic of Lithuania and the Republic of Estonia.",
        "1.3 \"Products\" means the Qingquan G5 Industrial Edge Gateway (QI-G5), the Qingquan G5 Lite Edge Gateway "
        "(QI-G5L) and the Qingquan S2 Vibration Sensor (QI-S2). Medical products of Qingquan are not covered.",
        "1.4 Baltic Steel Works AS remains a direct account of Qingquan. Distributor performs installation and "
        "on-site support for Baltic Steel Works AS as Qingquan's subcontractor and earns no margin on Products "
        "sold directly to that account.",
    ]),
    ("Section 2 Distributor Prices", [
        "2.1 Distributor buys the Products at the prices in Schedule A: USD 1,480 per G5 gateway, USD 930 per "
        "G5 Lite gateway and USD 155 per S2 sensor, FCA Hangzhou (Incoterms 2020).",
        "2.2 Distributor sets its resale prices freely. Qingquan may publish a recommended retail price.",
        "2.3 Qingquan may change the Schedule A prices once per calendar year with 60 days' written notice; the "
        "change may not exceed 5%.",
    ]),
    ("Section 3 Minimum Purchase Commitment", [
        "3.1 Distributor shall purchase Products worth at least USD 180,000 in each contract year.",
        "3.2 If Distributor purchases less than 70% of the minimum commitment in a contract year, Qingquan may "
        "convert the appointment to non-exclusive by written notice.",
        "3.3 Purchases by Baltic Steel Works AS directly from Qingquan do not count toward the commitment.",
    ]),
    ("Section 4 Orders and Delivery", [
        "4.1 Distributor places purchase orders by e-mail to overseas@qingquan-tech.example; Qingquan confirms "
        "each order within 3 business days.",
        "4.2 Qingquan ships confirmed orders within 30 days after order confirmation.",
        "4.3 The minimum order value is USD 8,000.",
    ]),
    ("Section 5 Payment", [
        "5.1 Distributor pays each invoice within 45 days after the invoice date by bank transfer in US dollars.",
        "5.2 Qingquan grants Distributor a credit limit of USD 60,000; orders beyond the credit limit require "
        "100% payment in advance.",
        "5.3 Overdue amounts bear interest at 0.8% per month.",
    ]),
    ("Section 6 Spare Parts and Stock", [
        "6.1 Distributor shall keep in Riga a consignment stock of 3 spare G5 Lite gateways and 2 spare G5 "
        "gateways owned by Qingquan, to support warranty replacements in the Territory.",
        "6.2 Distributor shall also keep its own sales stock of at least 20 S2 sensors.",
    ]),
    ("Section 7 Warranty", [
        "7.1 Qingquan gives Distributor the same warranty as to end customers: 24 months for the G5 and the G5 "
        "Lite and 12 months for the S2, counted from delivery to the end customer but no later than 27 months "
        "after shipment from Hangzhou.",
        "7.2 Distributor handles first-level warranty claims and returns defective units to Qingquan at "
        "Qingquan's cost.",
    ]),
    ("Section 8 Training and Certification", [
        "8.1 Distributor shall keep at least 2 engineers certified as Qingquan Certified IoT Engineers; "
        "certification is renewed every 2 years.",
        "8.2 Qingquan provides the certification training in Hangzhou free of charge; Distributor bears travel costs.",
    ]),
    ("Section 9 Marketing and Reporting", [
        "9.1 Distributor shall present the Products at no fewer than 2 industrial trade fairs in the Territory each year.",
        "9.2 Distributor shall send Qingquan a quarterly sales and pipeline report within 15 days after the end "
        "of each quarter.",
        "9.3 Qingquan contributes a marketing fund of 2% of Distributor's paid purchases of the previous year.",
    ]),
    ("Section 10 Non-Competition", [
        "10.1 During the Term, Distributor shall not sell or promote in the Territory industrial gateways that "
        "compete with the Products, including the Veltrix EG-400 and the Beichen NB-20.",
        "10.2 This restriction does not apply to products Distributor already sold before the Effective Date "
        "and their spare parts.",
    ]),
    ("Section 11 Trademarks", [
        "11.1 Distributor may use the Qingquan name and logo only to promote the Products in the Territory and "
        "in accordance with Qingquan's brand guidelines.",
        "11.2 All rights in the trademarks remain with Qingquan.",
    ]),
    ("Section 12 Confidentiality", [
        "12.1 Each party shall keep the other party's price lists, customer lists and technical documentation "
        "confidential and use them only for this Agreement.",
        "12.2 The confidentiality obligations survive for 3 years after termination of this Agreement.",
    ]),
    ("Section 13 Limitation of Liability", [
        "13.1 Each party's aggregate liability under this Agreement is limited to the amounts paid by "
        "Distributor to Qingquan in the 12 months preceding the claim.",
        "13.2 Neither party is liable for indirect or consequential loss, including loss of profit.",
    ]),
    ("Section 14 Term and Termination", [
        "14.1 The Agreement has an initial term of 3 years from the Effective Date and renews automatically "
        "for periods of 1 year unless either party gives notice of non-renewal at least 90 days before the end "
        "of the current term.",
        "14.2 Either party may terminate the Agreement for material breach not cured within 30 days after "
        "written notice.",
        "14.3 On termination, Distributor returns the consignment stock within 30 days, and Qingquan may "
        "buy back Distributor's unsold stock of Products at the price Distributor paid.",
    ]),
    ("Section 15 Governing Law and Disputes", [
        "15.1 This Agreement is governed by the laws of England and Wales.",
        "15.2 Disputes are finally resolved by arbitration under the LCIA Rules, seated in London, in English.",
    ]),
]

SIGNATURES = [
    "For Hangzhou Qingquan Intelligent Technology Co., Ltd.: Zhou Mingyuan, Legal Representative",
    "For Amber Industrial Solutions SIA: Mārtiņš Ozols, Managing Director",
]


def build_distributor_agreement_docx(output_path: Path = OUTPUT_PATH) -> Path:
    """Write the distributor agreement as a DOCX with Word heading styles and return its path."""
    import docx  # python-docx; imported here so the module can be read without it installed

    document = docx.Document()
    document.core_properties.title = TITLE
    # Fixed dates and author keep the document's metadata the same on every rebuild.
    document.core_properties.author = "Qingquan Legal"
    document.core_properties.created = datetime.datetime(2026, 2, 1)
    document.core_properties.modified = datetime.datetime(2026, 2, 1)
    document.add_heading(TITLE, level=1)
    for paragraph_text in PREAMBLE:
        document.add_paragraph(paragraph_text)
    for heading_text, clauses in SECTIONS:
        document.add_heading(heading_text, level=2)
        for clause_text in clauses:
            document.add_paragraph(clause_text)
    document.add_heading("Signatures", level=2)
    for signature_text in SIGNATURES:
        document.add_paragraph(signature_text)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(output_path))
    return output_path


if __name__ == "__main__":
    written_path = build_distributor_agreement_docx()
    sys.stdout.write(f"wrote {written_path}\n")
