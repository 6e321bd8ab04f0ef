/* console_line.c - the console's line editor and tokenizer (portable: the host tests build this file). */
#include <string.h>

#include "kernel/console_line.h"

/* the bytes the editor acts on (ASCII control codes) */
#define KEY_CTRL(ch)	((ch) & 0x1f)	/* ^C = 0x03, ^D = 0x04, ^H = 0x08, ^U = 0x15 */
#define KEY_ESC		0x1b
#define KEY_DEL		0x7f
#define ASCII_PRINT_LO	0x20		/* printable ASCII: 0x20..0x7e */
#define ASCII_PRINT_HI	0x7e
#define CSI_FINAL_LO	0x40		/* a CSI sequence ends at a byte 0x40..0x7e */
#define CSI_FINAL_HI	0x7e

void console_line_reset(struct console_line *l)
{
	memset(l, 0, sizeof(*l));
}

static void say(void (*echo)(const char *s), const char *s)
{
	if (echo)
		echo(s);
}

enum console_line_event console_line_feed(struct console_line *l, int c, void (*echo)(const char *s))
{
	bool after_cr = l->after_cr;

	c &= 0xff;	/* a byte, whatever the caller's int held */
	l->after_cr = false;
	/* ESC [ params final: CSI sequences end at a byte 0x40..0x7e; ESC x (two bytes) otherwise */
	if (l->esc == 1) {
		l->esc = c == '[' ? 2 : 0;
		return CONSOLE_LINE_MORE;
	}
	if (l->esc == 2) {
		if (c >= CSI_FINAL_LO && c <= CSI_FINAL_HI)
			l->esc = 0;
		return CONSOLE_LINE_MORE;
	}
	switch (c) {
	case '\n':
		if (after_cr)
			return CONSOLE_LINE_MORE;	/* the LF of a CR LF */
		/* fall through */
	case '\r':
		l->after_cr = c == '\r';
		l->buf[l->len] = '\0';
		say(echo, "\n");
		return CONSOLE_LINE_DONE;
	case KEY_CTRL('H'):
	case KEY_DEL:
		if (l->len && !l->overflow) {
			l->len--;
			say(echo, "\b \b");
		}
		return CONSOLE_LINE_MORE;
	case KEY_CTRL('U'):
		while (l->len && !l->overflow) {
			l->len--;
			say(echo, "\b \b");
		}
		return CONSOLE_LINE_MORE;
	case KEY_CTRL('C'):
		l->len = 0;
		l->overflow = false;
		l->buf[0] = '\0';
		say(echo, "^C\n");
		return CONSOLE_LINE_DONE;
	case KEY_CTRL('D'):
		return l->len || l->overflow ? CONSOLE_LINE_MORE : CONSOLE_LINE_EOF;
	case KEY_ESC:
		l->esc = 1;
		return CONSOLE_LINE_MORE;
	case '\t':
		c = ' ';
		break;
	default:
		if (c < ASCII_PRINT_LO || c > ASCII_PRINT_HI)
			return CONSOLE_LINE_MORE;	/* other control bytes, and non-ASCII */
		break;
	}
	if (l->len + 1 >= CONSOLE_LINE_MAX) {
		l->overflow = true;
		return CONSOLE_LINE_MORE;
	}
	l->buf[l->len++] = (char)c;
	{
		char s[2] = { (char)c, '\0' };

		say(echo, s);
	}
	return CONSOLE_LINE_MORE;
}

int console_tokenize(char *line, char **argv, unsigned max)
{
	unsigned n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			return (int)n;
		if (n == max)
			return -1;
		argv[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
}
