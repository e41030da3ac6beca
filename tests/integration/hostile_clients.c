#include "hostile_clients.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

void hostile_raise_descriptor_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int hostile_connect(int port, const char *source)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = 0};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, source, &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

long hostile_exchange(int port, const char *source, const char *request, char *response,
                      size_t size)
{
    int fd = hostile_connect(port, source);
    if (fd < 0)
        return -1;
    struct timeval timeout = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    size_t length = strlen(request), sent = 0;
    while (sent < length) {
        ssize_t written = send(fd, request + sent, length - sent, MSG_NOSIGNAL);
        if (written <= 0)
            break;
        sent += (size_t)written;
    }
    size_t received = 0;
    ssize_t got;
    while (received + 1 < size && (got = recv(fd, response + received, size - 1 - received, 0)) > 0)
        received += (size_t)got;
    response[received] = '\0';
    close(fd);
    long status = -1;
    if (sscanf(response, "HTTP/1.%*d %ld", &status) != 1)
        return -1;
    return status;
}

bool hostile_closed_by_server(int socket)
{
    char byte;
    ssize_t got = recv(socket, &byte, 1, MSG_DONTWAIT);
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* A "Name:   value kB" line of /proc/<pid>/status. */
static long status_field(int pid, const char *name)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1;
    long value = -1;
    size_t name_length = strlen(name);
    while (fgets(line, sizeof line, file) != NULL)
        if (strncmp(line, name, name_length) == 0 && line[name_length] == ':')
            value = strtol(line + name_length + 1, NULL, 10);
    fclose(file);
    return value;
}

long hostile_thread_count(int pid)
{
    return status_field(pid, "Threads");
}

long hostile_rss_kib(int pid)
{
    return status_field(pid, "VmRSS");
}
