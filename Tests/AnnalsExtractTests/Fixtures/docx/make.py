#!/usr/bin/env python3
"""Writes the DOCX fixtures of DOCXExtractorTests into this folder.

sample.docx is a minimal valid WordprocessingML package written with zipfile (the parts Word needs:
[Content_Types].xml, _rels/.rels, word/document.xml): a title, two headings, paragraphs with a tab, a line
break and entities, a table, a text box with its mc:Fallback copy, a field code, deleted text and a comment.

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
    write_pandoc()
