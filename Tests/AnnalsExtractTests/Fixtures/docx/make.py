#!/usr/bin/env python3
"""Writes the DOCX fixtures of DOCXExtractorTests into this folder.

sample.docx is a minimal valid WordprocessingML package written with zipfile (the parts Word needs:
[Content_Types].xml, _rels/.rels, word/document.xml): a title, two headings, paragraphs with a tab, a line
break and entities, a table, a text box with its mc:Fallback copy, a field code, deleted text and a comment.

parts.docx has text beyond the body: two headers and a footer (header10.xml after header2.xml, as their numbers
go), footnotes and endnotes with Word's separator notes, and a comment; and word/styles.xml with localised heading
styles: "berschrift1" named "heading 1" (as a German Word writes it), "Kapitel" with an outline level, "Unterkapitel"
based on "berschrift1", and "Zitat", which is no heading.

pandoc.docx, when pandoc is installed, is the Markdown in pandoc.md converted by a real word processor's writer
(pandoc's); the tests check that its text is found in order.

Run from anywhere: python3 make.py
"""
import os
import shutil
import subprocess
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>
"""

RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>
"""

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def paragraph(text, style=None):
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p w:rsidR="00A1">{ppr}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def cell(text):
    return f"<w:tc><w:tcPr><w:tcW w:w=\"2000\" w:type=\"dxa\"/></w:tcPr>{paragraph(text)}</w:tc>"


BODY = "".join([
    paragraph("Annals sample document", "Title"),
    paragraph("Introduction", "Heading1"),
    # Runs split mid-word, a tab, a line break, entities and a character reference.
    '<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>'
    '<w:r><w:rPr><w:b/></w:rPr><w:t>Ann</w:t></w:r><w:r><w:t xml:space="preserve">als keeps </w:t></w:r>'
    '<w:r><w:t>events</w:t></w:r><w:r><w:tab/><w:t>in one log</w:t></w:r><w:r><w:br/><w:t>'
    'Fish &amp; chips &lt;tags&gt; &quot;quoted&quot; caf&#233; &#x2014; done.</w:t></w:r></w:p>',
    # A field: the code is not text, the result is.
    '<w:p><w:r><w:t xml:space="preserve">Page </w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/>'
    '</w:r><w:r><w:t>7</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>'
    # Tracked changes: deleted text is left out, inserted text kept.
    '<w:del w:id="1" w:author="a"><w:r><w:delText>removed words</w:delText></w:r></w:del>'
    '<w:ins w:id="2" w:author="a"><w:r><w:t xml:space="preserve"> and inserted words</w:t></w:r></w:ins></w:p>',
    "<!-- a comment with <w:t>not text</w:t> inside -->",
    paragraph("Details", "Heading2"),
    '<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr><w:tblGrid><w:gridCol w:w="2000"/></w:tblGrid>'
    "<w:tr>" + cell("Name") + cell("Value") + "</w:tr>"
    "<w:tr>" + cell("alpha") + cell("1") + "</w:tr>"
    "<w:tr>" + cell("beta") + cell("2") + "</w:tr></w:tbl>",
    # A text box: Word writes it twice, as DrawingML (mc:Choice) and as VML (mc:Fallback).
    '<w:p><w:r><w:t xml:space="preserve">Before the box. </w:t></w:r><w:r><mc:AlternateContent>'
    '<mc:Choice Requires="wps"><w:drawing><w:txbxContent>' + paragraph("Boxed text") + "</w:txbxContent>"
    "</w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent>" + paragraph("Boxed text") +
    "</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>",
    paragraph("After the table, the last paragraph."),
    '<w:p/>',
    '<w:sectPr><w:pgSz w:w="12240" w:h="15840"/></w:sectPr>',
])

DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<w:document xmlns:w="{W}" xmlns:mc="{MC}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" mc:Ignorable="">'
    f"<w:body>{BODY}</w:body></w:document>"
)


def write_sample():
    path = os.path.join(HERE, "sample.docx")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        # Fixed timestamps, so that the output is the same on every run.
        for name, text in [("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", RELS),
                           ("word/document.xml", DOCUMENT)]:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    print("wrote", path)


def part(root, body, extra_ns=""):
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<w:{root} xmlns:w="{W}"{extra_ns}>{body}</w:{root}>')


def note(kind, number, text=None, note_type=None):
    attributes = f' w:type="{note_type}"' if note_type else ""
    if text is None:
        # What Word writes for its separator notes: a line, no text.
        inner = '<w:p><w:pPr><w:spacing w:after="0"/></w:pPr><w:r><w:separator/></w:r></w:p>'
    else:
        inner = (f'<w:p><w:pPr><w:pStyle w:val="{kind.capitalize()}Text"/></w:pPr><w:r><w:rPr>'
                 f'<w:rStyle w:val="{kind.capitalize()}Reference"/></w:rPr><w:{kind}Ref/></w:r>'
                 f'<w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p>')
    return f'<w:{kind}{attributes} w:id="{number}">{inner}</w:{kind}>'


def style(style_id, name, based_on=None, outline=None):
    parts = [f'<w:name w:val="{name}"/>']
    if based_on:
        parts.append(f'<w:basedOn w:val="{based_on}"/>')
    if outline is not None:
        parts.append(f'<w:pPr><w:keepNext/><w:outlineLvl w:val="{outline}"/></w:pPr>')
    parts.append('<w:rPr><w:b/></w:rPr>')
    return f'<w:style w:type="paragraph" w:styleId="{style_id}">{"".join(parts)}</w:style>'


STYLES = part("styles", "".join([
    '<w:docDefaults><w:rPrDefault><w:rPr><w:lang w:val="de-DE"/></w:rPr></w:rPrDefault></w:docDefaults>',
    style("Standard", "Normal"),
    style("berschrift1", "heading 1", based_on="Standard", outline=0),
    style("Kapitel", "Chapter", based_on="Standard", outline=0),
    style("Unterkapitel", "Subchapter", based_on="berschrift1"),
    style("Zitat", "Quote", based_on="Standard"),
    style("Textkrper", "Body Text", based_on="berschrift1", outline=9),
    '<w:style w:type="character" w:styleId="Heading1Char"><w:name w:val="heading 1 Char"/></w:style>',
]))

PARTS_BODY = "".join([
    paragraph("Bericht", "Kapitel"),
    '<w:p><w:r><w:t>Der erste Absatz</w:t></w:r><w:r><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr>'
    '<w:footnoteReference w:id="1"/></w:r><w:r><w:t xml:space="preserve"> mit Fußnote.</w:t></w:r></w:p>',
    paragraph("Einleitung", "berschrift1"),
    paragraph("Ein Zitat, keine Überschrift.", "Zitat"),
    paragraph("Fließtext ohne Gliederung.", "Textkrper"),
    paragraph("Details", "Unterkapitel"),
    '<w:p><w:r><w:t>Noch ein Satz</w:t></w:r><w:r><w:footnoteReference w:id="2"/></w:r>'
    '<w:r><w:t xml:space="preserve"> und ein Ende</w:t></w:r><w:r><w:endnoteReference w:id="1"/></w:r>'
    '<w:commentRangeStart w:id="0"/><w:r><w:commentReference w:id="0"/></w:r></w:p>',
    '<w:sectPr><w:headerReference w:type="default" r:id="rId3"/><w:footerReference w:type="default" r:id="rId4"/>'
    '</w:sectPr>',
])

PARTS_DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<w:document xmlns:w="{W}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    f"<w:body>{PARTS_BODY}</w:body></w:document>"
)

PARTS_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/word/header2.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>
<Override PartName="/word/header10.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>
<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>
<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/>
<Override PartName="/word/endnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.endnotes+xml"/>
<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>
</Types>
"""

RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

PARTS_DOCUMENT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    + "".join(f'<Relationship Id="rId{number}" Type="{RELATIONSHIP}{kind}" Target="{target}"/>'
              for number, kind, target in [(1, "styles", "styles.xml"), (2, "header", "header10.xml"),
                                           (3, "header", "header2.xml"), (4, "footer", "footer1.xml"),
                                           (5, "footnotes", "footnotes.xml"), (6, "endnotes", "endnotes.xml"),
                                           (7, "comments", "comments.xml")])
    + "</Relationships>"
)

PARTS = [
    ("[Content_Types].xml", PARTS_CONTENT_TYPES),
    ("_rels/.rels", RELS),
    ("word/_rels/document.xml.rels", PARTS_DOCUMENT_RELS),
    # Archive order is not reading order: the footer and the notes come first here.
    ("word/footer1.xml", part("ftr", paragraph("Seite 1 von 2"))),
    ("word/endnotes.xml", part("endnotes", note("endnote", -1, note_type="separator")
                               + note("endnote", 0, note_type="continuationSeparator")
                               + note("endnote", 1, "Die Endnote."))),
    ("word/footnotes.xml", part("footnotes", note("footnote", -1, note_type="separator")
                                + note("footnote", 0, note_type="continuationSeparator")
                                + note("footnote", 1, "Erste Fußnote.")
                                + note("footnote", 2, "Zweite Fußnote.", note_type="normal"))),
    ("word/document.xml", PARTS_DOCUMENT),
    ("word/header10.xml", part("hdr", paragraph("Kopfzeile zehn"))),
    ("word/header2.xml", part("hdr", paragraph("Kopfzeile zwei"))),
    ("word/comments.xml", part("comments", '<w:comment w:id="0" w:author="A" w:initials="A">'
                               + paragraph("Ein Kommentar.") + "</w:comment>")),
    ("word/styles.xml", STYLES),
    ("word/header3.xml.bak", part("hdr", paragraph("not a part"))),
]


def write_parts():
    path = os.path.join(HERE, "parts.docx")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    print("wrote", path)


def write_pandoc():
    if shutil.which("pandoc") is None:
        print("pandoc not found: pandoc.docx left as it is")
        return
    source = os.path.join(HERE, "pandoc.md")
    target = os.path.join(HERE, "pandoc.docx")
    subprocess.run(["pandoc", source, "-o", target], check=True)
    print("wrote", target)


if __name__ == "__main__":
    write_sample()
    write_parts()
    write_pandoc()
