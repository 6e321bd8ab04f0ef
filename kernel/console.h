/* console.h - the serial console: a prompt, line editing and the allocator's inspection commands. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

/* The prompt, also what tools/run.py waits for before it sends the next line of a script. */
#define CONSOLE_PROMPT "proxima> "

/**
 * console_run() - read commands from the UART and run them until `halt` (or ^D on an empty line).
 *
 * Context: the boot hart, after every hart is up; the other harts stay in their idle loop (commands that
 * want them, `test` and `bench`, call them through smp_call_all()). Waits in wfi between polls.
 * Return: never: `halt` powers off with status 0.
 */
void console_run(void) __attribute__((noreturn));

#endif
