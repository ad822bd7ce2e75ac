NAME = "undecodable-file"
SEVERITY = "error"
SUMMARY = "A .sql migration is not valid UTF-8: some of its text could not be read."
WHY = """\
Migrations are read as UTF-8. A file saved in another encoding (Latin-1 or Windows-1252 by an
editor, a dump from a legacy tool) has bytes that are not UTF-8; the linter replaces them and
still checks the file, but a statement on that line may be misread (a quote or identifier
split in the wrong place), and PostgreSQL would receive different text than you reviewed.
(Reported by the .sql reader, on the line and column of the first undecodable byte.)"""
FIX = "save the file as UTF-8"
FIX_SQL = """\
-- the same statement, with the file saved as UTF-8 (iconv -f latin1 -t utf-8, or your editor)
COMMENT ON TABLE orders IS 'Bestellungen für Kunden';"""
FIX_ALEMBIC = """\
# a revision module is Python source: save it as UTF-8 too
def upgrade():
    op.execute("COMMENT ON TABLE orders IS 'Bestellungen für Kunden'")"""
# the rejected examples are saved as Latin-1; the accepted ones as UTF-8
BAD_ENCODING = "latin-1"
BAD = ["COMMENT ON TABLE orders IS 'Bestellungen für Kunden';"]
GOOD = ["COMMENT ON TABLE orders IS 'Bestellungen für Kunden';"]
ENGINE = True
