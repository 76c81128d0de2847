"""The accuracy metrics the real-page benchmark and the accuracy floors are measured with (ocrflow.quality)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocrflow.quality import (
    bag_of_words,
    bag_of_words_error,
    character_error_rate,
    single_spaced,
    word_error_rate,
)

words = st.lists(st.text(alphabet="abcXYZ09é.,;'\"()", min_size=1, max_size=8), min_size=1, max_size=30)


def test_character_error_rate_counts_edits_per_truth_character():
    assert character_error_rate("hello world", "hello world") == 0
    assert character_error_rate("hello world", "hallo world") == pytest.approx(1 / 11)
    assert character_error_rate("hello world", "") == 1
    assert character_error_rate("Hello", "hello") == pytest.approx(1 / 5)  # case counts


def test_whitespace_runs_count_as_one_space():
    assert single_spaced("  a\n\nb\t c\f") == "a b c"
    assert character_error_rate("one two\nthree", "one   two three\n") == 0


def test_word_error_rate_counts_word_edits():
    assert word_error_rate("the cat sat", "the cat sat") == 0
    assert word_error_rate("the cat sat", "the bat sat") == pytest.approx(1 / 3)
    assert word_error_rate("the cat sat", "the cat") == pytest.approx(1 / 3)
    assert word_error_rate("the cat sat", "sat the cat") == pytest.approx(2 / 3)  # order counts


def test_bag_of_words_strips_outer_punctuation_and_keeps_case():
    assert bag_of_words('"Hello," she said. (e.g. U.S.) -- don\'t') == {
        "Hello": 1, "she": 1, "said": 1, "e.g": 1, "U.S": 1, "don't": 1}
    assert bag_of_words("Word word") == {"Word": 1, "word": 1}


def test_bag_of_words_error_ignores_order_and_counts_missed_and_spurious():
    assert bag_of_words_error("left column. right column.", "right column left column") == 0
    assert bag_of_words_error("a b c d", "a b c") == pytest.approx(1 / 8)  # one missed
    assert bag_of_words_error("a b c d", "a b c d e") == pytest.approx(1 / 8)  # one spurious
    assert bag_of_words_error("a b c d", "a b c x") == pytest.approx(2 / 8)  # a substitution is both
    assert bag_of_words_error("a a b", "a b") == pytest.approx(1 / 6)  # multisets, not sets
    assert bag_of_words_error("a b", "") == 0.5


@given(words)
def test_a_perfect_reading_scores_zero_in_any_order_and_spacing(truth_words):
    truth = " ".join(truth_words)
    assert character_error_rate(truth, "\n".join(truth_words)) == 0
    assert word_error_rate(truth, truth) == 0
    assert bag_of_words_error(truth, " ".join(reversed(truth_words))) == 0


@given(words, words)
def test_bag_of_words_error_is_bounded_by_the_sizes(truth_words, found_words):
    truth, found = " ".join(truth_words), " ".join(found_words)
    error = bag_of_words_error(truth, found)
    expected, recognised = sum(bag_of_words(truth).values()), sum(bag_of_words(found).values())
    assert 0 <= error <= (expected + recognised) / (2 * max(1, expected)) + 1e-12
    if expected:
        assert bag_of_words_error(truth, "") == 0.5


@given(words, words)
def test_edit_rates_are_at_most_the_longer_length_over_the_truth(truth_words, found_words):
    truth, found = " ".join(truth_words), " ".join(found_words)
    assert 0 <= character_error_rate(truth, found) <= max(len(truth), len(found)) / len(truth)
    assert 0 <= word_error_rate(truth, found) <= max(len(truth_words), len(found_words)) / len(truth_words)
