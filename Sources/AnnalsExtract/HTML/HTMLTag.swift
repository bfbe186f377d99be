/// What an HTML element means for the text around it; every element not listed is inline and means nothing.
enum HTMLTag: Sendable, Equatable {
    /// An inline or unknown element: its text flows on.
    case inline
    /// A block (`p`, `div`, `table`, …): a paragraph break before and after.
    case block
    /// An element that starts a line (`li`, `tr`, `dt`, `dd`, …).
    case line
    /// `br`: one more newline, so that two make a paragraph break.
    case lineBreak
    /// A table cell: a space between cells.
    case cell
    /// `h1` to `h6`: a paragraph break and a section start.
    case heading
    /// `pre`, `listing`: white space kept.
    case preformatted
    /// `template`, `noscript`: the content is parsed but none of its text is kept.
    case hidden
    /// `script`, `style` and the other raw-text elements whose content is not markup and is dropped.
    case rawDropped
    /// `title`, `textarea`: text only, references decoded, kept as a paragraph of its own.
    case rawKept
    /// `xmp`: text only, kept as written.
    case rawLiteral

    /// A tag name as the tokenizer keeps it: the first eight bytes lower-cased and packed, and the full length.
    struct Key: Hashable, Sendable {
        var packed: UInt64
        var length: Int

        init(packed: UInt64, length: Int) {
            self.packed = packed
            self.length = length
        }

        init(_ name: String) {
            var packed: UInt64 = 0
            for (index, byte) in name.utf8.prefix(8).enumerated() { packed |= UInt64(byte) << (8 * UInt64(index)) }
            self.init(packed: packed, length: name.utf8.count)
        }
    }

    /// The meaning of the element with this name (`inline` when it is not known).
    ///
    /// A switch over the packed names (each case names its element), which the compiler turns
    /// into a binary search: several times cheaper than hashing a key per tag.
    static func of(_ key: Key) -> HTMLTag {
        let length: Int
        let tag: HTMLTag
        switch key.packed {
        case 0x70: (length, tag) = (1, .block)  // p
        case 0x3168: (length, tag) = (2, .heading)  // h1
        case 0x3268: (length, tag) = (2, .heading)  // h2
        case 0x3368: (length, tag) = (2, .heading)  // h3
        case 0x3468: (length, tag) = (2, .heading)  // h4
        case 0x3568: (length, tag) = (2, .heading)  // h5
        case 0x3668: (length, tag) = (2, .heading)  // h6
        case 0x6464: (length, tag) = (2, .line)  // dd
        case 0x6474: (length, tag) = (2, .cell)  // td
        case 0x6874: (length, tag) = (2, .cell)  // th
        case 0x696C: (length, tag) = (2, .line)  // li
        case 0x6C64: (length, tag) = (2, .block)  // dl
        case 0x6C6F: (length, tag) = (2, .block)  // ol
        case 0x6C75: (length, tag) = (2, .block)  // ul
        case 0x7262: (length, tag) = (2, .lineBreak)  // br
        case 0x7268: (length, tag) = (2, .block)  // hr
        case 0x7274: (length, tag) = (2, .line)  // tr
        case 0x7464: (length, tag) = (2, .line)  // dt
        case 0x657270: (length, tag) = (3, .preformatted)  // pre
        case 0x706D78: (length, tag) = (3, .rawLiteral)  // xmp
        case 0x726964: (length, tag) = (3, .block)  // dir
        case 0x76616E: (length, tag) = (3, .block)  // nav
        case 0x766964: (length, tag) = (3, .block)  // div
        case 0x64616568: (length, tag) = (4, .block)  // head
        case 0x6C6D7468: (length, tag) = (4, .block)  // html
        case 0x6D726F66: (length, tag) = (4, .block)  // form
        case 0x6E69616D: (length, tag) = (4, .block)  // main
        case 0x756E656D: (length, tag) = (4, .block)  // menu
        case 0x79646F62: (length, tag) = (4, .block)  // body
        case 0x6461656874: (length, tag) = (5, .block)  // thead
        case 0x6564697361: (length, tag) = (5, .block)  // aside
        case 0x656C626174: (length, tag) = (5, .block)  // table
        case 0x656C746974: (length, tag) = (5, .rawKept)  // title
        case 0x656C797473: (length, tag) = (5, .rawDropped)  // style
        case 0x746F6F6674: (length, tag) = (5, .block)  // tfoot
        case 0x79646F6274: (length, tag) = (5, .block)  // tbody
        case 0x646E6567656C: (length, tag) = (6, .block)  // legend
        case 0x656D61726669: (length, tag) = (6, .rawDropped)  // iframe
        case 0x657275676966: (length, tag) = (6, .block)  // figure
        case 0x676F6C616964: (length, tag) = (6, .block)  // dialog
        case 0x6E6F6974706F: (length, tag) = (6, .line)  // option
        case 0x70756F726768: (length, tag) = (6, .block)  // hgroup
        case 0x726564616568: (length, tag) = (6, .block)  // header
        case 0x7265746E6563: (length, tag) = (6, .block)  // center
        case 0x7265746F6F66: (length, tag) = (6, .block)  // footer
        case 0x747069726373: (length, tag) = (6, .rawDropped)  // script
        case 0x6465626D656F6E: (length, tag) = (7, .rawDropped)  // noembed
        case 0x656C6369747261: (length, tag) = (7, .block)  // article
        case 0x676E697473696C: (length, tag) = (7, .preformatted)  // listing
        case 0x6E6F6974636573: (length, tag) = (7, .block)  // section
        case 0x6E6F6974706163: (length, tag) = (7, .line)  // caption
        case 0x736C6961746564: (length, tag) = (7, .block)  // details
        case 0x73736572646461: (length, tag) = (7, .block)  // address
        case 0x7972616D6D7573: (length, tag) = (7, .block)  // summary
        case 0x6165726174786574: (length, tag) = (8, .rawKept)  // textarea
        case 0x6574616C706D6574: (length, tag) = (8, .hidden)  // template
        case 0x6974706163676966: (length, tag) = (10, .block)  // figcaption
        case 0x6F75716B636F6C62: (length, tag) = (10, .block)  // blockquote
        case 0x70756F726774706F: (length, tag) = (8, .line)  // optgroup
        case 0x73656D6172666F6E: (length, tag) = (8, .rawDropped)  // noframes
        case 0x746573646C656966: (length, tag) = (8, .block)  // fieldset
        case 0x746573656D617266: (length, tag) = (8, .block)  // frameset
        case 0x7470697263736F6E: (length, tag) = (8, .hidden)  // noscript
        default: return .inline
        }
        return key.length == length ? tag : .inline
    }

    /// The name of a raw-text element, whose end tag the tokenizer looks for; only the names in the table matter.
    static func rawName(_ key: Key) -> [UInt8] {
        rawNames[key] ?? []
    }

    private static let rawNames: [Key: [UInt8]] = {
        var names: [Key: [UInt8]] = [:]
        for name in ["script", "style", "iframe", "noembed", "noframes", "title", "textarea", "xmp"] {
            names[Key(name)] = Array(name.utf8)
        }
        return names
    }()
}
