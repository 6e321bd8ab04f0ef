/* test_console_line.c - the console's line editor and tokenizer, byte by byte, with what they echo. */
#include <string.h>

#include "kernel/console_line.h"
#include "tests/test.h"

static char shown[1024];

static void echo(const char *s)
{
	strncat(shown, s, sizeof(shown) - strlen(shown) - 1);
}

/* feed @in; return the event of the last byte */
static enum console_line_event feed(struct console_line *l, const char *in)
{
	enum console_line_event ev = CONSOLE_LINE_MORE;

	for (; *in; in++)
		ev = console_line_feed(l, (unsigned char)*in, echo);
	return ev;
}

/*
 * Type @typed on a fresh line: every byte but the last keeps the line open, the last ends it; the line
 * then holds @buf (not overflowed) and the terminal showed @echoed.
 */
static void expect_typed(struct test *t, const char *typed, const char *buf, const char *echoed)
{
	size_t i, n = strlen(typed);
	struct console_line l;

	console_line_reset(&l);
	shown[0] = '\0';
	for (i = 0; i + 1 < n; i++)
		EXPECT_EQ(t, console_line_feed(&l, (unsigned char)typed[i], echo), CONSOLE_LINE_MORE);
	EXPECT_EQ(t, console_line_feed(&l, (unsigned char)typed[n - 1], echo), CONSOLE_LINE_DONE);
	EXPECT_TRUE(t, !strcmp(l.buf, buf));
	EXPECT_TRUE(t, !strcmp(shown, echoed));
	EXPECT_FALSE(t, l.overflow);
	if (strcmp(l.buf, buf) || strcmp(shown, echoed))
		test_log("typed a %zu-byte line: got '%s', echoed %zu bytes", n, l.buf, strlen(shown));
}

static void line_basic(struct test *t)
{
	expect_typed(t, "help\r", "help", "help\n");
}

static void line_crlf_is_one_end(struct test *t)
{
	struct console_line l;

	console_line_reset(&l);
	EXPECT_EQ(t, feed(&l, "a\r"), CONSOLE_LINE_DONE);
	console_line_reset(&l);
	/* a reset forgets the CR: a CR LF split over two lines must still be one line end */
	l.after_cr = true;
	EXPECT_EQ(t, feed(&l, "\n"), CONSOLE_LINE_MORE);
	EXPECT_EQ(t, feed(&l, "\n"), CONSOLE_LINE_DONE);
	EXPECT_TRUE(t, !strcmp(l.buf, ""));
	console_line_reset(&l);
	EXPECT_EQ(t, feed(&l, "b\n"), CONSOLE_LINE_DONE);
	EXPECT_TRUE(t, !strcmp(l.buf, "b"));
}

static void line_backspace(struct test *t)
{
	/* DEL with nothing to erase, DEL, ^H twice */
	expect_typed(t, "\x7f" "ab\x7f" "c\b\bx\n", "x", "ab\b \bc\b \b\b \bx\n");
	/* ^U: one erase per character */
	expect_typed(t, "junk\x15ok\r", "ok", "junk\b \b\b \b\b \b\b \bok\n");
}

static void line_controls_and_escapes(struct test *t)
{
	struct console_line l;

	/* arrow keys, a bell, a non-ASCII byte and a tab; ESC O x: ESC and one byte go, x stays */
	expect_typed(t, "\x1b[A\x1b[1;5Cto\x07p\xc3o\x1bOx\tz\r", "topox z", "topox z\n");
	expect_typed(t, "abc\x03", "", "abc^C\n");
	console_line_reset(&l);
	EXPECT_EQ(t, feed(&l, "\x04"), CONSOLE_LINE_EOF);
	console_line_reset(&l);
	EXPECT_EQ(t, feed(&l, "a\x04"), CONSOLE_LINE_MORE);
}

static void line_overflow(struct test *t)
{
	struct console_line l;
	unsigned i;

	console_line_reset(&l);
	for (i = 0; i < CONSOLE_LINE_MAX - 1; i++)
		EXPECT_EQ(t, console_line_feed(&l, 'a', NULL), CONSOLE_LINE_MORE);
	EXPECT_FALSE(t, l.overflow);
	EXPECT_EQ(t, l.len, CONSOLE_LINE_MAX - 1);
	for (i = 0; i < 1000; i++)
		console_line_feed(&l, 'b', NULL);
	EXPECT_TRUE(t, l.overflow);
	EXPECT_EQ(t, l.len, CONSOLE_LINE_MAX - 1);
	EXPECT_EQ(t, console_line_feed(&l, '\r', NULL), CONSOLE_LINE_DONE);
	EXPECT_EQ(t, strlen(l.buf), CONSOLE_LINE_MAX - 1);
}

static void tokenize(struct test *t)
{
	char line[64], *argv[4];

	strcpy(line, "  alloc\t4096  global sys ");
	EXPECT_EQ(t, console_tokenize(line, argv, 4), 4);
	EXPECT_TRUE(t, !strcmp(argv[0], "alloc") && !strcmp(argv[1], "4096") && !strcmp(argv[2], "global"));
	EXPECT_TRUE(t, !strcmp(argv[3], "sys"));
	strcpy(line, "alloc 1 2 3");
	EXPECT_EQ(t, console_tokenize(line, argv, 3), -1);
	strcpy(line, "   ");
	EXPECT_EQ(t, console_tokenize(line, argv, 3), 0);
	strcpy(line, "");
	EXPECT_EQ(t, console_tokenize(line, argv, 3), 0);
	strcpy(line, "halt");
	EXPECT_EQ(t, console_tokenize(line, argv, 3), 1);
	EXPECT_TRUE(t, !strcmp(argv[0], "halt"));
}

TEST_SUITE(host_console_line, TEST_CASE(line_basic), TEST_CASE(line_crlf_is_one_end), TEST_CASE(line_backspace),
	   TEST_CASE(line_controls_and_escapes), TEST_CASE(line_overflow), TEST_CASE(tokenize));
