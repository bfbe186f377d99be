import AnnalsExtract
import Testing

private func html(_ text: String) throws -> ExtractedText {
    try TextExtractor.extract(Array(text.utf8), format: .html)
}

@Suite("HTML extraction")
struct HTMLExtractorTests {
    /// A page with a bit of everything: title, style and script, headings, lists, `pre`, hidden content, a table.
    static let page = """
        <!DOCTYPE html>
        <html><head><title>The  Title</title>
        <style>p { color: red } </p></style>
        <script>if (a < b && c > d) { document.write("</div>"); }</script>
        </head>
        <body>
        <h1>Heading &amp; more</h1>
        <p>First   paragraph
        with <b>bold</b> text.</p>
        <!-- a comment <p>not text</p> -->
        <ul><li>one</li><li>two</li></ul>
        <pre>
          keep   this
            indented</pre>
        <p>Line<br>break</p>
        <template><p>hidden</p></template><noscript>no script</noscript>
        <table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>
        <h2>Second</h2><p>End.</p>
        </body></html>
        """

    @Test("the title comes first; blocks, lines, pre, hidden content and headings are laid out")
    func layout() throws {
        let result = try html(Self.page)
        let expected =
            "The Title\n\nHeading & more\n\nFirst paragraph with bold text.\n\none\ntwo\n\n  keep   this\n"
            + "    indented\n\nLine\nbreak\n\na b\nc d\n\nSecond\n\nEnd."
        #expect(result.text == expected)
        #expect(
            result.sectionStarts == [
                scalarOffset(of: "Heading", in: expected), scalarOffset(of: "Second", in: expected),
            ])
    }

    @Test("a man page rendered by groff: its text, in order, with a section per heading and no markup")
    func manPage() throws {
        let bytes = try textFormatFixture("html/ls.html")
        let result = try TextExtractor.extract(bytes, format: .html)
        let text = result.text
        #expect(text.hasPrefix("LS\n\nLS\n\nNAME\nSYNOPSIS\nDESCRIPTION\n"))
        expectInOrder(
            [
                "NAME", "ls - list directory contents", "SYNOPSIS", "ls [OPTION]... [FILE]...", "DESCRIPTION",
                "List information about the FILEs (the current directory by default).",
                "-a, --all", "do not ignore entries starting with .",
                "with -l, scale sizes by SIZE when printing them; e.g., \u{2019}--block-size=M\u{2019};",
                "-c", "with -lt: sort by, and show, ctime", "AUTHOR",
                "Written by Richard M. Stallman and David MacKenzie.",
                "COPYRIGHT", "Copyright \u{00A9}", "SEE ALSO",
            ],
            in: text)
        for markup in ["<b>", "</p>", "<a ", "&rsquo;", "&lt;", "margin-top", "text/css", "groff version", "href"] {
            #expect(!text.contains(markup), "\(markup)")
        }
        // One h1 and seven h2 headings; the first one follows the title.
        #expect(result.sectionStarts.count == 8)
        #expect(result.sectionStarts.first == scalarOffset(of: "LS\n\nNAME", in: text))
        #expect(!text.contains("\n\n\n"))
        #expect(!text.contains("  "))
    }

    @Test("character references: named, Latin-1, decimal, hexadecimal; invalid ones stay as written")
    func references() throws {
        let source =
            "<p>&lt;a&gt; &quot;q&quot; &apos;s&apos; &copy; &eacute;t&eacute; &nbsp;x &#65;&#x42;&#X43; &#128512; "
            + "&#x1F600; &#150; &#0; &#xD800; &#x110000; &bogus; &amp &copy2024 &; &#; &#x; & alone &AMP; "
            + "&thetasym; &notanentityname; &Ouml;l &ouml &yuml;</p>"
        let expected =
            "<a> \"q\" 's' © été \u{A0}x ABC 😀 😀 \u{2013} \u{FFFD} \u{FFFD} \u{FFFD} &bogus; & &copy2024 &; &#; &#x; "
            + "& alone & \u{03D1} &notanentityname; Öl ö ÿ"
        #expect(try html(source).text == expected)
        // In raw text, references are decoded in a title but not in a script (which is dropped anyway).
        #expect(try html("<title>A &amp; B</title><script>&amp;</script>").text == "A & B")
    }

    @Test("markup edge cases: quoted '>' in attributes, a lone '<', comments, processing instructions, CDATA")
    func markup() throws {
        let source =
            "<p title=\"a > b\" data-x='<p>' checked>Text</p><p>A <3 B</p><p>x</ p>y<!---->z<!--->w"
            + "<?php echo 1 ?>v<![CDATA[ <cdata> ]] ]]>u</p><p>unquoted<a href=x>link</a></p>"
        #expect(try html(source).text == "Text\n\nA <3 B\n\nxyzwv <cdata> ]] u\n\nunquotedlink")
    }

    @Test("raw-text elements end only at their own end tag, in any case")
    func rawText() throws {
        let source =
            "<SCRIPT type=\"x\">var s = \"</scr\" + \"ipt>\"; </SCRIPT >after<title>T &amp; </titlex> U</TITLE>"
            + "<style>a</stylex>b</style><xmp><b>&amp;</b></xmp><textarea>x</textarea>"
        #expect(try html(source).text == "after\n\nT & </titlex> U\n\n<b>&amp;</b>\n\nx")
    }

    @Test("white space collapses outside pre; CRLF in pre becomes LF")
    func whitespace() throws {
        #expect(try html("  <p>  a \t\n b  </p>  <span> c </span>  ").text == "a b\n\nc")
        #expect(try html("<pre>\r\nx\r\n\ty  \r</pre>").text == "x\n\ty  \n")
        #expect(try html("<p>a</p><br><br><p>b</p>").text == "a\n\nb")
        #expect(try html("a<br>b<br><br>c").text == "a\nb\n\nc")
    }

    @Test("XHTML with an XML declaration is read the same way")
    func xhtml() throws {
        let source = """
            <?xml version="1.0" encoding="UTF-8"?>
            <html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title></head>
            <body><h1>Big</h1><p>Small<br/>print</p></body></html>
            """
        let result = try html(source)
        #expect(result.text == "X\n\nBig\n\nSmall\nprint")
        #expect(result.sectionStarts == [3])
    }

    @Test("a document cut off inside a tag, a comment or a reference keeps the text before it")
    func truncated() throws {
        #expect(try html("<p>kept</p><div class=\"x").text == "kept")
        #expect(try html("<p>kept</p><!-- never closed <p>x</p>").text == "kept")
        #expect(try html("kept &amp").text == "kept &")
        #expect(try html("kept &ampx").text == "kept &ampx")
        #expect(try html("kept <").text == "kept <")
    }

    @Test("only markup is no text; nothing is empty")
    func noText() {
        #expect(
            formatError(Array("<html><head><script>x()</script></head><body> </body></html>".utf8), .html)?.code
                == .noText)
        #expect(formatError([], .html)?.code == .empty)
    }

    @Test("feeding byte by byte or in random pieces gives the same text and sections")
    func streaming() throws {
        try expectStreamingEquivalence(Array(Self.page.utf8), format: .html)
        let references = "<p>&eacute;&#x1F600;&#128512;&amp;&amp &bogus; é 😀</p><![CDATA[x]]]><title>a</titl</title>"
        try expectStreamingEquivalence(Array(references.utf8), format: .html)
        try expectStreamingEquivalence(try textFormatFixture("html/ls.html"), format: .html, seeds: 1...2)
    }

    @Test("invalid UTF-8 (a Latin-1 page) is refused at its offset, however the bytes are fed")
    func invalidUTF8() {
        let bytes = Array("<p>caf".utf8) + [0xE9] + Array("</p>".utf8)
        let error = formatError(bytes, .html)
        #expect(error?.code == .invalidUTF8)
        #expect(error?.byteOffset == 6)
        #expect(formatError(bytes.indices.map { bytes[$0..<($0 + 1)] }, .html)?.byteOffset == 6)
        let nul = formatError(Array("<p>a".utf8) + [0] + Array("</p>".utf8), .html)
        #expect(nul?.code == .binaryContent)
        #expect(nul?.byteOffset == 4)
        // A character cut off by the end of the document.
        #expect(formatError(Array("<p>a".utf8) + [0xE2, 0x82], .html)?.code == .invalidUTF8)
    }

    @Test("a byte-order mark is dropped")
    func byteOrderMark() throws {
        #expect(try TextExtractor.extract([0xEF, 0xBB, 0xBF] + Array("<p>x</p>".utf8), format: .html).text == "x")
    }

    @Test("100,000 nested elements cost no memory per level and end quickly")
    func deepNesting() throws {
        let depth = 100_000
        var source = String(repeating: "<div><span>", count: depth) + "deep"
        source += String(repeating: "</span></div>", count: depth)
        #expect(try html(source).text == "deep")
        // Unbalanced `pre` and hidden elements are counters, not stacks.
        #expect(try html(String(repeating: "<pre>", count: depth) + "a  b").text == "a  b")
        let hidden =
            String(repeating: "<template>", count: depth) + "gone" + String(repeating: "</template>", count: depth)
        #expect(try html(hidden + "<p>shown</p>").text == "shown")
        // A hundred thousand unclosed comments and tags are just as cheap.
        #expect(try html("<p>x</p>" + String(repeating: "<b", count: depth)).text == "x")
    }
}
