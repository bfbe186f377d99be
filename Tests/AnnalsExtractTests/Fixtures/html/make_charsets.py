#!/usr/bin/env python3
"""Writes the character-set fixtures of HTMLCharsetTests into this folder.

- windows-1252.html: a page declared with <meta http-equiv="Content-Type" content="text/html; charset=windows-1252">,
  holding typographic quotes, an apostrophe, a dash, an ellipsis, é and € (bytes 0x80-0x9F and 0xE9).
- iso-8859-15.html: a page declared with <meta charset="ISO-8859-15">, holding €, œ, Š and Ÿ.
- utf-16le.html: a page in UTF-16LE with a byte-order mark (and a <meta charset="utf-16">), holding Greek, CJK
  and an emoji (a surrogate pair).
- shift_jis.html: a page declared with <meta charset="shift_jis">, in Shift_JIS: Annals refuses it by name.
- latin1-undeclared.html: a Latin-1 page without any declaration: still refused as not UTF-8.
- charset-tables.json: what Python's codecs make of bytes 0x80-0xFF in windows-1252 and ISO-8859-15, to check
  the transcoder's tables against another implementation. Python's cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D
  undefined; the WHATWG Encoding Standard (which browsers and Annals follow) maps them to the C1 controls of the
  same value, and so does this script.

Run from anywhere: python3 make_charsets.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

WINDOWS_1252 = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<title>Café menu</title>
</head>
<body>
<h1>Café “Le Zinc”</h1>
<p>Crème brûlée – 7 €</p>
<p>It’s naïve… isn’t it? Œuvre, š, Ÿ, ™.</p>
</body>
</html>
"""

ISO_8859_15 = """<html><head><meta charset="ISO-8859-15"><title>Prix</title></head>
<body><p>Le cœur coûte 5 € ; Šibenik, Ÿ.</p></body></html>
"""

UTF_16 = """<!DOCTYPE html>
<html><head><meta charset="utf-16"><title>Ελληνικά</title></head>
<body><h2>東京</h2><p>Smile 😀 and “quotes”.</p></body></html>
"""

SHIFT_JIS = """<html><head><meta charset="shift_jis"><title>日本語</title></head>
<body><p>東京は日本の首都です。</p></body></html>
"""

LATIN1 = """<html><head><title>Café</title></head>
<body><p>Crème brûlée</p></body></html>
"""


def write(name, data):
    path = os.path.join(HERE, name)
    with open(path, "wb") as file:
        file.write(data)
    print("wrote", path)


def table(codec):
    characters = []
    for byte in range(0x80, 0x100):
        try:
            characters.append(bytes([byte]).decode(codec))
        except UnicodeDecodeError:
            characters.append(chr(byte))
    return "".join(characters)


if __name__ == "__main__":
    write("windows-1252.html", WINDOWS_1252.encode("cp1252"))
    write("iso-8859-15.html", ISO_8859_15.encode("iso8859_15"))
    write("utf-16le.html", b"\xff\xfe" + UTF_16.encode("utf-16-le"))
    write("shift_jis.html", SHIFT_JIS.encode("shift_jis"))
    write("latin1-undeclared.html", LATIN1.encode("latin-1"))
    tables = {"windows-1252": table("cp1252"), "ISO-8859-15": table("iso8859_15")}
    write("charset-tables.json", (json.dumps(tables, ensure_ascii=True, indent=1, sort_keys=True) + "\n").encode())
