/* console_line.h - the console's portable half: a line editor fed one byte at a time, and a tokenizer. */
#ifndef KERNEL_CONSOLE_LINE_H
#define KERNEL_CONSOLE_LINE_H

#include <stdbool.h>
#include <stdint.h>

#define CONSOLE_LINE_MAX 128	/* bytes of a line, the NUL included: 127 characters */
#define CONSOLE_ARGS_MAX 8	/* words of a command line */

/*
 * One line being typed. Printable bytes are stored and echoed; backspace (BS 0x08 or DEL 0x7f) erases
 * the last one ("\b \b"); ^U erases the line; ^C drops it; CR, LF or CR LF ends it. ANSI escape
 * sequences (arrow keys: ESC [ A) and other control bytes are swallowed. Bytes past the buffer are not
 * stored: the line is marked overflowed and the caller rejects it whole when it ends.
 */
struct console_line {
	char buf[CONSOLE_LINE_MAX];
	unsigned len;
	bool overflow;		/* more than CONSOLE_LINE_MAX - 1 characters were typed */
	bool after_cr;		/* the last byte was CR: an LF right after it ends nothing */
	uint8_t esc;		/* 0; 1 after ESC; 2 inside ESC [ ... until its final byte */
};

enum console_line_event {
	CONSOLE_LINE_MORE,	/* keep feeding */
	CONSOLE_LINE_DONE,	/* a line ended: buf holds it NUL-terminated (empty after ^C) */
	CONSOLE_LINE_EOF,	/* ^D on an empty line: end of input */
};

/* console_line_reset() - an empty line. Context: any. */
void console_line_reset(struct console_line *l);

/**
 * console_line_feed() - take one input byte.
 * @l:    the line
 * @c:    the byte
 * @echo: called with what the terminal should show (NUL-terminated; "\n" for a line end), may be NULL
 *
 * Context: any; no locks, no allocation. After CONSOLE_LINE_DONE or _EOF the caller reads buf/overflow
 * and calls console_line_reset() before feeding more.
 * Return: a CONSOLE_LINE_* event.
 */
enum console_line_event console_line_feed(struct console_line *l, int c, void (*echo)(const char *s));

/**
 * console_tokenize() - split @line in place at spaces and tabs.
 * @line: the line (modified: NULs end the words)
 * @argv: filled with up to @max words
 * @max:  room in @argv
 *
 * Context: any.
 * Return: the number of words, or -1 if there are more than @max (argv then holds the first @max).
 */
int console_tokenize(char *line, char **argv, unsigned max);

#endif
