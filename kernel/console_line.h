/* console_line.h - the console's portable half: a line editor fed one byte at a time, and a tokenizer. */
#ifndef KERNEL_CONSOLE_LINE_H
#define KERNEL_CONSOLE_LINE_H

#include <stdbool.h>
#include <stdint.h>

#define CONSOLE_LINE_MAX 128	/* bytes of a line, the NUL included: 127 characters */
#define CONSOLE_ARGS_MAX 8	/* words of a command line */

/**
 * struct console_line - one line being typed.
 * @buf: the characters stored so far; NUL-terminated only once the line has ended
 * @len: characters in @buf
 * @overflow: more than CONSOLE_LINE_MAX - 1 characters were typed
 * @after_cr: the last byte was CR: an LF right after it ends nothing
 * @esc: 0; 1 after ESC; 2 inside ESC [ ... until its final byte
 *
 * Printable ASCII bytes (0x20..0x7e) are stored and echoed, a tab as a space; backspace (BS 0x08 or DEL
 * 0x7f) erases the last one ("\b \b"); ^U erases the line; ^C drops it; CR, LF or CR LF ends it. ANSI
 * escape sequences (arrow keys: ESC [ A; ESC and one more byte otherwise), other control bytes and
 * non-ASCII bytes are swallowed. Bytes past the buffer are neither stored nor echoed: the line is marked
 * overflowed, backspace and ^U no longer erase, and the caller rejects the line whole when it ends.
 */
struct console_line {
	char buf[CONSOLE_LINE_MAX];
	unsigned len;
	bool overflow;		/* more than CONSOLE_LINE_MAX - 1 characters were typed */
	bool after_cr;		/* the last byte was CR: an LF right after it ends nothing */
	uint8_t esc;		/* 0; 1 after ESC; 2 inside ESC [ ... until its final byte */
};

/**
 * enum console_line_event - what console_line_feed() says about the byte it took.
 * @CONSOLE_LINE_MORE: keep feeding
 * @CONSOLE_LINE_DONE: a line ended: buf holds it NUL-terminated (empty after ^C)
 * @CONSOLE_LINE_EOF: ^D on an empty line: end of input
 */
enum console_line_event {
	CONSOLE_LINE_MORE,	/* keep feeding */
	CONSOLE_LINE_DONE,	/* a line ended: buf holds it NUL-terminated (empty after ^C) */
	CONSOLE_LINE_EOF,	/* ^D on an empty line: end of input */
};

/**
 * console_line_reset() - an empty line: every field zeroed, after_cr and an open escape sequence included.
 * @l: the line
 *
 * A caller that wants the LF of a CR LF split across two lines swallowed keeps after_cr across the reset
 * itself (kernel/console.c does).
 * Context: any; no locks.
 */
void console_line_reset(struct console_line *l);

/**
 * console_line_feed() - take one input byte.
 * @l:    the line
 * @c:    the byte (only its low 8 bits are used)
 * @echo: called with what the terminal should show (NUL-terminated: the character, "\b \b" for an
 *        erase, "\n" for a line end, "^C\n" for ^C), may be NULL
 *
 * Context: any; no locks, no allocation. After CONSOLE_LINE_DONE or _EOF the caller reads buf/overflow
 * and calls console_line_reset() before feeding more.
 * Return: CONSOLE_LINE_DONE when CR, LF (not the LF of a CR LF) or ^C ends the line; CONSOLE_LINE_EOF for
 * ^D on a line with nothing typed (a ^D after text is ignored); CONSOLE_LINE_MORE for every other byte.
 */
enum console_line_event console_line_feed(struct console_line *l, int c, void (*echo)(const char *s));

/**
 * console_tokenize() - split @line in place at runs of spaces and tabs.
 * @line: the NUL-terminated line (modified: NULs replace the separators and end the words)
 * @argv: filled with up to @max words, pointers into @line
 * @max:  room in @argv
 *
 * Context: any; no locks, no allocation.
 * Return: the number of words (0 for a blank line), or -1 if there are more than @max (argv then holds
 * the first @max; the rest of @line is left unsplit).
 */
int console_tokenize(char *line, char **argv, unsigned max);

#endif
