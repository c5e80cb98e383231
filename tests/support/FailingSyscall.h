#pragma once

// Making one system call fail with ENOSYS, as on a kernel too old to have it, to test the
// fallbacks for it (header-only). For a forked child only: a seccomp filter cannot be removed,
// and every process the caller starts inherits it.

#include <cerrno>
#include <cstddef>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

namespace rotator::test
{

/// Makes system call `number` fail with ENOSYS in this process and everything it starts from
/// now on. Returns false when the kernel refused the filter.
inline bool failSyscallWithEnosys(long number)
{
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(number), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    // Without no_new_privs only a process with CAP_SYS_ADMIN may install a filter.
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

} // namespace rotator::test
