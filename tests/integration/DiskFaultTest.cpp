// Disk and file faults at a real file sink: a full filesystem, a read-only one, a symlink
// planted at the target, the target replaced by a directory. Each must end as a clean sink
// failure: the rotation rolls back (the new client is revoked), the old client stays alive,
// the target keeps its old content, and no temporary file is left behind.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotator/rotation/RotationEngine.h"
#include "rotator/sink/SinkFactory.h"
#include "rotator/store/GroupCommitJournal.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/FakeClock.h"
#include "support/FakeTokenApi.h"
#include "support/TempDir.h"

using namespace rotator;

namespace
{

constexpr std::int64_t kDay = 86'400'000;

/// Mounts a tiny tmpfs for the life of the object, when this process may mount.
class TmpfsMount
{
public:
    TmpfsMount(const std::string& path, const char* options, unsigned long flags = 0)
        : _path(path)
    {
        ::mkdir(path.c_str(), 0700);
        _mounted = ::mount("tmpfs", path.c_str(), "tmpfs", flags, options) == 0;
    }
    ~TmpfsMount()
    {
        if (_mounted)
        {
            ::umount2(_path.c_str(), MNT_DETACH);
        }
    }
    bool mounted() const { return _mounted; }

private:
    std::string _path;
    bool _mounted = false;
};

class DiskFault : public ::testing::Test
{
protected:
    DiskFault() : api(clock)
    {
        settings.state.dir = dir.file("state");
        settings.scheduler.maxFailures = 5;
        settings.scheduler.concurrency = 1;
        ::mkdir(settings.state.dir.c_str(), 0700);
        ::mkdir((settings.state.dir + "/pending").c_str(), 0700);
        old = api.seedClient({api.roles[1].id}, clock.nowMs() - 40 * kDay);
        store = std::make_unique<store::SqliteStateStore>(settings.state.dir + "/rotator.db");
    }

    /// One credential, due, adopting `old`, delivered to a json file sink at `path`.
    void rotateInto(const std::string& path)
    {
        target = path;
        config::CredentialSettings c;
        c.name = "billing";
        c.roles = {"Database Administrator"};
        c.maxAgeMs = 30 * kDay;
        c.gracePeriodMs = 3'600'000;
        c.sinks = {"file"};
        c.clientId = old;
        settings.credentials = {c};
        config::SinkSettings s;
        s.name = "file";
        s.type = config::SinkType::File;
        s.path = path;
        settings.sinks = {s};
        std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks;
        sinks["file"] = sink::makeSink(s);
        store::GroupCommitJournal journal(*store);
        rotation::RotationEngine engine(settings, api, journal, std::move(sinks),
                                        rotation::PendingFiles(settings.state.dir + "/pending"),
                                        clock);
        report = engine.runPass();
    }

    void expectCleanFailure(const std::string& fragment)
    {
        EXPECT_EQ(report.rotated, 0);
        EXPECT_EQ(report.revoked, 0);
        const auto rotation = store->lastRotation("billing").value();
        EXPECT_EQ(rotation.stage, core::Stage::RolledBack);
        ASSERT_TRUE(rotation.error);
        EXPECT_NE(rotation.error->find(fragment), std::string::npos) << *rotation.error;
        EXPECT_TRUE(api.exists(old)) << "the old client was revoked";
        EXPECT_FALSE(api.exists(rotation.newClientId)) << "the new client was left alive";
        EXPECT_EQ(api.clientIds().size(), 1u);
        EXPECT_EQ(store->findCredential("billing")->currentClientId, old);
        // Nothing half-written next to the target.
        const auto parent = std::filesystem::path(target).parent_path();
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(parent, ec))
        {
            const auto name = entry.path().filename().string();
            EXPECT_TRUE(name == "billing.json" || name == "filler") << "left behind: " << name;
        }
        // And the secret is not in the pending directory any more.
        EXPECT_TRUE(std::filesystem::is_empty(settings.state.dir + "/pending"));
    }

    test::TempDir dir;
    test::FakeClock clock{1'790'000'000'000};
    test::FakeTokenApi api;
    config::Settings settings;
    std::unique_ptr<store::SqliteStateStore> store;
    std::string old;
    std::string target;
    rotation::PassReport report;
};

} // namespace

TEST_F(DiskFault, AFullFilesystemIsACleanSinkFailure)
{
    TmpfsMount mount(dir.file("full"), "size=16k,mode=0700");
    if (!mount.mounted())
    {
        GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN): full-disk case skipped";
    }
    test::writeFile(dir.file("full/billing.json"), "old content\n", 0600);
    {
        // Fill every block that is left.
        std::ofstream filler(dir.file("full/filler"), std::ios::binary);
        const std::string block(4096, 'x');
        for (int i = 0; i < 64 && filler; ++i)
        {
            filler << block << std::flush;
        }
    }
    rotateInto(dir.file("full/billing.json"));
    expectCleanFailure("No space left");
    EXPECT_EQ(test::readFile(dir.file("full/billing.json")), "old content\n");
}

TEST_F(DiskFault, AReadOnlyFilesystemIsACleanSinkFailure)
{
    TmpfsMount mount(dir.file("ro"), "size=16k,mode=0700", MS_RDONLY);
    if (!mount.mounted())
    {
        GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN): read-only case skipped";
    }
    rotateInto(dir.file("ro/billing.json"));
    expectCleanFailure("Read-only file system");
    EXPECT_NE(::access(dir.file("ro/billing.json").c_str(), F_OK), 0);
}

TEST_F(DiskFault, ASymlinkPlantedAtTheTargetIsRefused)
{
    ::mkdir(dir.file("out").c_str(), 0700);
    test::writeFile(dir.file("elsewhere"), "not yours\n", 0600);
    ASSERT_EQ(::symlink(dir.file("elsewhere").c_str(), dir.file("out/billing.json").c_str()), 0);
    rotateInto(dir.file("out/billing.json"));
    expectCleanFailure("symbolic link");
    EXPECT_EQ(test::readFile(dir.file("elsewhere")), "not yours\n");
    struct stat st
    {
    };
    ASSERT_EQ(::lstat(dir.file("out/billing.json").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(DiskFault, ATargetReplacedByADirectoryIsRefused)
{
    ::mkdir(dir.file("out").c_str(), 0700);
    ::mkdir(dir.file("out/billing.json").c_str(), 0700);
    rotateInto(dir.file("out/billing.json"));
    expectCleanFailure("directory");
    EXPECT_TRUE(std::filesystem::is_directory(dir.file("out/billing.json")));
}
