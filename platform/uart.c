/* uart.c - polled ns16550 console (the UART /chosen/stdout-path names): output (SBI legacy putchar before
 * the UART is known) and non-blocking input. */
#include <stdint.h>

#include "platform/platform.h"
#include "platform/sbi.h"

static volatile uint8_t *uart;
static unsigned shift;

#define UART_THR 0
#define UART_RBR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LCR_8N1 0x03		/* 8 data bits, no parity, 1 stop bit, DLAB clear */
#define FCR_ENABLE_CLEAR 0x07	/* FIFOs on, receive and transmit FIFOs cleared */

static inline void reg_w(unsigned r, uint8_t v) { uart[r << shift] = v; }
static inline uint8_t reg_r(unsigned r) { return uart[r << shift]; }

void plat_uart_init(uint64_t base, unsigned reg_shift)
{
	if (!base)
		return;
	shift = reg_shift;
	uart = (volatile uint8_t *)(uintptr_t)base;
	reg_w(UART_IER, 0);	/* polled: no interrupts */
	reg_w(UART_LCR, LCR_8N1);	/* QEMU ignores the divisor: keep OpenSBI's */
	reg_w(UART_FCR, FCR_ENABLE_CLEAR);
}

void plat_putc(char c)
{
	if (!uart) {
		sbi_legacy_putchar(c);
		return;
	}
	while (!(reg_r(UART_LSR) & LSR_THRE))
		;
	reg_w(UART_THR, (uint8_t)c);
}

int plat_getc(void)
{
	if (!uart || !(reg_r(UART_LSR) & LSR_DR))
		return -1;
	return reg_r(UART_RBR);
}
