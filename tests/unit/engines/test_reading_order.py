"""Lines that come sorted top to bottom are put into reading order: columns one after the other, a title first."""

from ocrflow.engines.reading_order import order_rects, table_rows


def _column(x0: float, x1: float, top: float, lines: int, height: float = 10, leading: float = 14):
    return [(x0, top + n * leading, x1, top + n * leading + height) for n in range(lines)]


def test_two_columns_are_read_one_after_the_other_not_across():
    left, right = _column(0, 100, 50, 5), _column(120, 220, 50, 5)
    rects = sorted(left + right, key=lambda r: (r[1], r[0]))  # as RapidOCR gives them: row by row
    blocks = order_rects(rects)
    order = [rects[i] for block in blocks for i in block]
    assert order == left + right
    assert len(blocks) == 2


def test_a_title_across_the_columns_comes_first_and_a_footer_last():
    title = [(0, 0, 220, 30)]
    left, right = _column(0, 100, 50, 4), _column(120, 220, 50, 4)
    footer = [(0, 200, 220, 210)]
    rects = sorted(title + left + right + footer, key=lambda r: (r[1], r[0]))
    order = [rects[i] for block in order_rects(rects) for i in block]
    assert order == title + left + right + footer


def test_a_single_column_keeps_its_lines_top_to_bottom():
    lines = _column(10, 300, 0, 6)
    assert [i for block in order_rects(lines) for i in block] == list(range(6))


def test_no_lines_no_blocks():
    assert order_rects([]) == []


def test_an_amount_beside_an_item_is_read_with_its_row():
    items = [(0, 0, 80, 10), (0, 14, 60, 24), (0, 28, 90, 38)]
    amounts = [(150, 1, 180, 11), (150, 15, 180, 25), (150, 29, 180, 39)]
    rects = items + amounts
    texts = ["Nasi Lemak", "Teh Tarik", "Roti Canai", "12.50", "3.00", "RM 2.20"]
    assert sorted(table_rows(rects, texts)) == [[0, 3], [1, 4], [2, 5]]


def test_words_beside_words_are_not_rows():
    left, right = _column(0, 100, 50, 3), _column(120, 220, 50, 3)
    assert sorted(table_rows(left + right, ["some text here"] * 6)) == [[i] for i in range(6)]
