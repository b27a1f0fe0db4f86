/*
 * A fast SMTP sink for benchmarks: accepts and discards every message, answers AUTH with 235 as RFC 4954 says.
 *
 * Postfix's smtp-sink answers AUTH with "250 2.0.0 Ok", which every compliant client (libcurl, Python's smtplib)
 * treats as a refused login; and Outreach never sends without logging in. So the benchmark uses this instead.
 * One process per connection; pipelined commands are answered in order; DATA ends at CRLF.CRLF.
 *
 *   cc -O2 -o smtp-sink-auth smtp-sink-auth.c && ./smtp-sink-auth 127.0.0.1 2525
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static void reply(int fd, const char *text) {
    size_t n = strlen(text);
    while (n > 0) {
        ssize_t w = write(fd, text, n);
        if (w <= 0) _exit(0);
        text += w;
        n -= (size_t)w;
    }
}

static void serve(int fd) {
    static char buf[1 << 16];
    char line[8192];
    size_t used = 0;
    int in_data = 0, auth_login = 0;
    /* The last bytes seen in DATA, to find CRLF.CRLF across reads. */
    unsigned int tail = 0;
    reply(fd, "220 sink ESMTP\r\n");
    for (;;) {
        ssize_t r = read(fd, buf + used, sizeof buf - used);
        if (r <= 0) return;
        size_t len = used + (size_t)r, pos = 0;
        while (pos < len) {
            if (in_data) {
                for (; pos < len; pos++) {
                    tail = (tail << 8) | (unsigned char)buf[pos];
                    if (tail == 0x0d0a2e0d && pos + 1 < len && buf[pos + 1] == '\n') {
                        pos += 2;
                        in_data = 0;
                        tail = 0;
                        reply(fd, "250 2.0.0 Ok: queued\r\n");
                        break;
                    }
                }
                continue;
            }
            char *nl = memchr(buf + pos, '\n', len - pos);
            if (!nl) break;
            size_t n = (size_t)(nl - (buf + pos));
            if (n >= sizeof line) n = sizeof line - 1;
            memcpy(line, buf + pos, n);
            line[n] = 0;
            if (n && line[n - 1] == '\r') line[n - 1] = 0;
            pos = (size_t)(nl - buf) + 1;
            if (auth_login) {
                /* 1: LOGIN user name next; 2: LOGIN password next; 3: PLAIN credentials next */
                reply(fd, auth_login == 1 ? "334 UGFzc3dvcmQ6\r\n" : "235 2.7.0 Authentication successful\r\n");
                auth_login = auth_login == 1 ? 2 : 0;
            } else if (!strncasecmp(line, "EHLO", 4)) {
                reply(fd, "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n");
            } else if (!strncasecmp(line, "HELO", 4)) {
                reply(fd, "250 sink\r\n");
            } else if (!strncasecmp(line, "AUTH PLAIN", 10)) {
                if (strlen(line) > 11) {
                    reply(fd, "235 2.7.0 Authentication successful\r\n");
                } else {
                    reply(fd, "334 \r\n");
                    auth_login = 3;
                }
            } else if (!strncasecmp(line, "AUTH LOGIN", 10)) {
                reply(fd, "334 VXNlcm5hbWU6\r\n");
                auth_login = 1;
            } else if (!strncasecmp(line, "MAIL", 4)) {
                reply(fd, "250 2.1.0 Ok\r\n");
            } else if (!strncasecmp(line, "RCPT", 4)) {
                reply(fd, "250 2.1.5 Ok\r\n");
            } else if (!strncasecmp(line, "DATA", 4)) {
                reply(fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
                in_data = 1;
                tail = 0x0d0a; /* a "." on the very first line also ends the data */
            } else if (!strncasecmp(line, "QUIT", 4)) {
                reply(fd, "221 2.0.0 Bye\r\n");
                return;
            } else {
                reply(fd, "250 2.0.0 Ok\r\n");
            }
        }
        used = len - pos;
        memmove(buf, buf + pos, used);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ADDRESS PORT\n", argv[0]);
        return 2;
    }
    signal(SIGCHLD, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 64)) {
        perror("bind/listen");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        if (fork() == 0) {
            close(s);
            serve(c);
            _exit(0);
        }
        close(c);
    }
}
