// SPDX-License-Identifier: GPL-2.0
/*
 * The terminal: while a guest runs with its serial port on stdio and
 * stdin is a terminal, keys go to the guest as typed (no line editing, no
 * echo: the guest echoes).  Ctrl-C, Ctrl-\ and Ctrl-Z keep their meaning.
 * The saved settings come back on every way out: normal exit (atexit),
 * the stopping signals run.c handles, fatal signals (handled here, then
 * re-raised), and Ctrl-Z (restored while stopped, raw again on SIGCONT).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "khyp.h"

static struct termios term_saved;
static volatile sig_atomic_t term_is_raw;

void term__restore(void)
{
	if (term_is_raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &term_saved);
	term_is_raw = 0;
}

static void term__enter(void)
{
	struct termios t = term_saved;

	t.c_lflag &= ~(ICANON | ECHO | ECHONL | IEXTEN);
	t.c_iflag &= ~(ICRNL | INLCR | IGNCR | IXON);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSADRAIN, &t))
		term_is_raw = 1;
}

static void term__fatal(int sig)
{
	term__restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void term__stop(int sig)
{
	bool was_raw = term_is_raw;

	(void)sig;
	term__restore();
	term_is_raw = was_raw ? 2 : 0;	/* remember to go raw again */
	raise(SIGSTOP);
}

static void term__cont(int sig)
{
	(void)sig;
	if (term_is_raw == 2) {
		term_is_raw = 0;
		term__enter();
	}
}

void term__raw(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;
	unsigned int i;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &term_saved))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term__fatal;
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	sa.sa_handler = term__stop;
	sigaction(SIGTSTP, &sa, NULL);
	sa.sa_handler = term__cont;
	sigaction(SIGCONT, &sa, NULL);
	atexit(term__restore);
	term__enter();
}
